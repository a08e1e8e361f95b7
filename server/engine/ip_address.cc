#include "server/engine/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace trailsentry::engine {

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  // INET6_ADDRSTRLEN is 46; anything longer is not an address literal.
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
  if (inet_pton(AF_INET, buf, ip.bytes_.data()) == 1) {
    ip.v4_ = true;
    return ip;
  }
  if (inet_pton(AF_INET6, buf, ip.bytes_.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(ip.bytes_.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
    std::memmove(ip.bytes_.data(), ip.bytes_.data() + 12, 4);
    std::memset(ip.bytes_.data() + 4, 0, 12);
    ip.v4_ = true;
  }
  return ip;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(v4_ ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
  return buf;
}

IpAddress IpAddress::Masked(int prefix) const {
  IpAddress out = *this;
  const int total = v4_ ? 32 : 128;
  for (int bit = prefix < 0 ? 0 : prefix; bit < total; ++bit) {
    out.bytes_[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
  }
  return out;
}

}  // namespace trailsentry::engine
