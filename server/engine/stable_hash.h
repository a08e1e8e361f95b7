// StableHash64: a 64-bit hash that is the same in every process, build and
// version, for what is stored (event ids in the event log) and what must not
// change from run to run (which shard an identity lands in). absl::Hash is
// seeded per process, so it serves only in-memory tables.
//
//   uint64_t h = StableHash64("arn:aws:iam::1:user/a", /*seed=*/0);
#ifndef TRAILSENTRY_SERVER_ENGINE_STABLE_HASH_H_
#define TRAILSENTRY_SERVER_ENGINE_STABLE_HASH_H_

#include <cstdint>
#include <string_view>

namespace trailsentry::engine {

uint64_t StableHash64(std::string_view bytes, uint64_t seed);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_STABLE_HASH_H_
