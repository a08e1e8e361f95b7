#include "server/engine/network.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"

namespace trailsentry::engine {

absl::StatusOr<Network> Network::ParseCidr(std::string_view text) {
  const size_t slash = text.find('/');
  std::optional<IpAddress> ip = IpAddress::Parse(text.substr(0, slash));
  if (!ip)
    return absl::InvalidArgumentError(absl::StrCat("not an IP address: \"", AbslView(text), "\""));
  const int max_prefix = ip->is_v4() ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    if (!absl::SimpleAtoi(AbslView(text.substr(slash + 1)), &prefix) || prefix < 0 ||
        prefix > max_prefix) {
      return absl::InvalidArgumentError(
          absl::StrCat("bad prefix length in \"", AbslView(text), "\" (0..", max_prefix, ")"));
    }
  }
  if (!(ip->Masked(prefix) == *ip)) {
    return absl::InvalidArgumentError(
        absl::StrCat("host bits set in \"", AbslView(text), "\": did you mean ",
                     Network(ip->Masked(prefix), prefix).ToString(), "?"));
  }
  return Network(*ip, prefix);
}

Network Network::Of(const IpAddress& ip, int ipv4_prefix, int ipv6_prefix) {
  const int prefix = ip.is_v4() ? ipv4_prefix : ipv6_prefix;
  return Network(ip.Masked(prefix), prefix);
}

bool Network::Contains(const IpAddress& ip) const {
  return ip.is_v4() == address_.is_v4() && ip.Masked(prefix_) == address_;
}

std::string Network::ToString() const { return absl::StrCat(address_.ToString(), "/", prefix_); }

}  // namespace trailsentry::engine
