// IpAddress: a parsed IPv4/IPv6 source address (spec §1 "Valid source IP").
//
// IPv4-mapped IPv6 (::ffff:198.51.100.7) is normalised to IPv4. Hostnames such as
// "ec2.amazonaws.com" and "AWS Internal" do not parse.
//
//   std::optional<IpAddress> ip = IpAddress::Parse("2001:db8::7");
//   std::string s = ip->ToString();
#ifndef TRAILSENTRY_SERVER_ENGINE_IP_ADDRESS_H_
#define TRAILSENTRY_SERVER_ENGINE_IP_ADDRESS_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace trailsentry::engine {

class IpAddress {
 public:
  static std::optional<IpAddress> Parse(std::string_view text);

  bool is_v4() const { return v4_; }
  // 4 bytes for IPv4, 16 for IPv6, network order.
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  std::string ToString() const;
  // This address with every bit after the first `prefix` bits cleared.
  IpAddress Masked(int prefix) const;

  // Two 8-byte compares, not a call to memcmp: an event's network is compared
  // with each network of its identity's baseline.
  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    uint64_t x[2], y[2];
    std::memcpy(x, a.bytes_.data(), sizeof x);
    std::memcpy(y, b.bytes_.data(), sizeof y);
    return a.v4_ == b.v4_ && x[0] == y[0] && x[1] == y[1];
  }

 private:
  std::array<uint8_t, 16> bytes_{};
  bool v4_ = false;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_IP_ADDRESS_H_
