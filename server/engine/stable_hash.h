// StableHash64: a 64-bit hash that is the same in every process, build and
// version, for what is stored (event ids in the event log) and what must not
// change from run to run (which shard an identity lands in). absl::Hash is
// seeded per process, so it serves only in-memory tables.
//
//   uint64_t h = StableHash64("arn:aws:iam::1:user/a", /*seed=*/0);
//   StableHash128 k = StableHash128Of("tenant\0arn:aws:iam::1:user/a");
#ifndef TRAILSENTRY_SERVER_ENGINE_STABLE_HASH_H_
#define TRAILSENTRY_SERVER_ENGINE_STABLE_HASH_H_

#include <cstdint>
#include <string_view>
#include <utility>

namespace trailsentry::engine {

uint64_t StableHash64(std::string_view bytes, uint64_t seed);

// Two independent 64-bit stable hashes of the same bytes: a key for in-memory
// tables that compares 16 bytes in place instead of chasing a string. A
// collision of both (2^-128 per pair) would merge two keys' state; it is treated
// as impossible. Tables hash `low`; `high` picks a table's shard, so the bits a
// table hashes are not the same for every key in a shard.
struct StableHash128 {
  uint64_t high = 0, low = 0;
  friend bool operator==(const StableHash128&, const StableHash128&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const StableHash128& k) {
    return H::combine(std::move(h), k.low);
  }
};

inline constexpr uint64_t kStableHash128High = 0x9e3779b97f4a7c15ULL;
inline constexpr uint64_t kStableHash128Low = 0x2545f4914f6cdd1dULL;
// The same value as {StableHash64(bytes, kStableHash128High),
// StableHash64(bytes, kStableHash128Low)}, in one pass over the bytes: the two
// hashes' multiply chains run side by side.
StableHash128 StableHash128Of(std::string_view bytes);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_STABLE_HASH_H_
