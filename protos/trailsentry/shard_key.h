// The shard key of a call: the AWS account its events or lookup belong to, sent
// in the x-trailsentry-shard header for a proxy that routes account-sharded
// replicas by it (deploy/nginx, docs/operations.md "Scaling out"). Shared by the
// engine (routing events by account), storage (finding an identity's account to
// move it), the clients that set the header and the replicas that name it.
//
//   std::string_view a = IdentityAccount("arn:aws:iam::111122223333:user/alice");
#ifndef TRAILSENTRY_SHARD_KEY_H_
#define TRAILSENTRY_SHARD_KEY_H_

#include <algorithm>
#include <string_view>

namespace trailsentry {

inline constexpr char kShardHeader[] = "x-trailsentry-shard";

// The account field of an ARN ("arn:aws:iam::123456789012:user/x" ->
// "123456789012"); "" when it has none.
inline std::string_view ArnAccount(std::string_view arn) {
  size_t pos = 0;
  for (int field = 0; field < 4; ++field) {  // arn:partition:service:region:ACCOUNT:resource
    pos = arn.find(':', pos);
    if (pos == std::string_view::npos) return {};
    ++pos;
  }
  const size_t end = arn.find(':', pos);
  return end == std::string_view::npos ? std::string_view() : arn.substr(pos, end - pos);
}

// The account of an identity key: its ARN's, or the part before the first ':'
// of a key composed as "account:principalId" (spec §2). For CloudTrail's records
// the ARN's account is userIdentity.accountId, so this is the account the
// identity's events were routed by.
inline std::string_view IdentityAccount(std::string_view identity) {
  if (identity.starts_with("arn:")) return ArnAccount(identity);
  return identity.substr(0, std::min(identity.size(), identity.find(':')));
}

}  // namespace trailsentry

#endif  // TRAILSENTRY_SHARD_KEY_H_
