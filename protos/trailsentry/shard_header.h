// The gRPC metadata key (and HTTP header) that carries a call's shard key, the
// AWS account its events or lookup belong to (of an identity: ShardKeyOfIdentity), for a proxy that
// routes replicas by it (deploy/nginx, docs/operations.md "Sharding by account"). Shared by the
// clients that set it and the replicas that name it in their errors.
#ifndef TRAILSENTRY_SHARD_HEADER_H_
#define TRAILSENTRY_SHARD_HEADER_H_

#include <algorithm>
#include <string_view>

namespace trailsentry {

inline constexpr char kShardHeader[] = "x-trailsentry-shard";

// The account of an identity key, for routing lookups: the account field of an
// ARN ("arn:aws:iam::111122223333:user/alice"), else the part before the first
// ':' of a key composed as "account:principalId" (spec §2).
inline std::string_view ShardKeyOfIdentity(std::string_view identity) {
  if (identity.starts_with("arn:")) {
    size_t pos = 0;
    for (int field = 0; field < 4; ++field) {  // arn:partition:service:region:ACCOUNT:...
      pos = identity.find(':', pos);
      if (pos == std::string_view::npos) return {};
      ++pos;
    }
    const size_t end = identity.find(':', pos);
    return end == std::string_view::npos ? std::string_view() : identity.substr(pos, end - pos);
  }
  return identity.substr(0, std::min(identity.size(), identity.find(':')));
}

}  // namespace trailsentry

#endif  // TRAILSENTRY_SHARD_HEADER_H_
