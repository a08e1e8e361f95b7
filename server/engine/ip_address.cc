#include "server/engine/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace trailsentry::engine {

namespace {

// Strict dotted-quad IPv4 ("198.51.100.7"), as inet_pton(AF_INET) accepts it:
// four decimal parts 0..255, no leading zeros beyond a lone "0".
bool ParseIpv4(std::string_view s, uint8_t out[4]) {
  size_t i = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
    const size_t start = i;
    unsigned value = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3)
      value = value * 10 + (s[i++] - '0');
    if (i == start || value > 255 || (s[start] == '0' && i - start > 1)) return false;
    out[part] = static_cast<uint8_t>(value);
  }
  return i == s.size();
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  if (!text.empty() && text[0] >= '0' && text[0] <= '9' &&
      text.find(':') == std::string_view::npos) {
    IpAddress ip;
    if (!ParseIpv4(text, ip.bytes_.data())) return std::nullopt;
    ip.v4_ = true;
    return ip;
  }
  // INET6_ADDRSTRLEN is 46; anything longer is not an address literal.
  char buf[64];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpAddress ip;
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
