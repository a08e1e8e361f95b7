// Network: an IP network in CIDR form (spec §3 "Network of an IP").
//
//   absl::StatusOr<Network> n = Network::ParseCidr("2001:db8:10:21::/64");
//   Network of = Network::Of(*IpAddress::Parse("203.0.113.7"), 32, 64);
//   of.ToString();  // "203.0.113.7/32"
//   n->Contains(ip);
#ifndef TRAILSENTRY_SERVER_ENGINE_NETWORK_H_
#define TRAILSENTRY_SERVER_ENGINE_NETWORK_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/engine/ip_address.h"

namespace trailsentry::engine {

class Network {
 public:
  // "a.b.c.d/n" or "v6::/n"; a bare address means a host network (/32 or /128).
  // Host bits set below the prefix are an error, so typos do not widen a network.
  static absl::StatusOr<Network> ParseCidr(std::string_view text);
  // `ip` masked to its family's prefix length.
  static Network Of(const IpAddress& ip, int ipv4_prefix, int ipv6_prefix);

  bool Contains(const IpAddress& ip) const;
  int prefix() const { return prefix_; }
  const IpAddress& address() const { return address_; }
  std::string ToString() const;

  friend bool operator==(const Network&, const Network&) = default;

 private:
  Network(IpAddress address, int prefix) : address_(address), prefix_(prefix) {}
  IpAddress address_;
  int prefix_ = 0;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_NETWORK_H_
