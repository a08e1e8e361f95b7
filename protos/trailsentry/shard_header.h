// The gRPC metadata key (and HTTP header) that carries a call's shard key, the
// AWS account its events or lookup belong to, for a proxy that routes replicas
// by it (deploy/nginx, docs/operations.md "Sharding by account"). Shared by the
// clients that set it and the replicas that name it in their errors.
#ifndef TRAILSENTRY_SHARD_HEADER_H_
#define TRAILSENTRY_SHARD_HEADER_H_

namespace trailsentry {

inline constexpr char kShardHeader[] = "x-trailsentry-shard";

}  // namespace trailsentry

#endif  // TRAILSENTRY_SHARD_HEADER_H_
