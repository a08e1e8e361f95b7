// CoalescedWrites: what a StateBatch writes once per key at commit, however
// often its events changed it (internal to storage):
//   - the last profile or baseline entry of each key;
//   - each identity's seen-only event records, packed into one value.
//
// Per event the batch updates an entry that is usually already there: the key is
// built in a reused buffer and found by a 128-bit hash of its bytes (compared in
// the table's slot, no string chased); a new key is copied once into one arena.
// Values are encoded at commit only, once per key. A collision of both 64-bit
// halves (2^-128 per pair) would merge two keys; like the engine's identity
// tables, it is treated as impossible.
//
//   CoalescedWrites w;
//   w.PutLatest(key, entry);                  // column family byte + key
//   w.AddSeen(identity_key, time, id_hash);
//   w.ForEachLatest([&](std::string_view key, const engine::BaselineEntry& e) { ... });
//   w.Clear();
#ifndef TRAILSENTRY_STORAGE_INTERNAL_COALESCED_WRITES_H_
#define TRAILSENTRY_STORAGE_INTERNAL_COALESCED_WRITES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "server/engine/baseline.h"
#include "server/engine/stable_hash.h"

namespace trailsentry::storage::internal {

class CoalescedWrites {
 public:
  // The entry `key` (its column family byte first) gets at commit: the last put.
  void PutLatest(std::string_view key, const engine::BaselineEntry& entry);
  // One seen-only event record of the identity whose key is `identity_key`.
  void AddSeen(std::string_view identity_key, int64_t time, uint64_t id_hash);
  // Forgets the latest entries whose key `drop` matches, and the seen records of
  // `identity_key` (the identity was deleted in this batch).
  void Drop(absl::FunctionRef<bool(std::string_view key)> drop, std::string_view identity_key);

  bool empty() const { return latest_.empty() && seen_.empty(); }

  // Each latest entry, in key order.
  void ForEachLatest(
      absl::FunctionRef<void(std::string_view key, const engine::BaselineEntry& entry)> fn);
  // Each identity's seen records, in identity key order: the newest time, the
  // XOR of the id hashes, and the (time, id hash) pairs in the order added,
  // big-endian.
  void ForEachSeen(absl::FunctionRef<void(std::string_view identity_key, int64_t newest,
                                          uint64_t ids, std::string_view packed)>
                       fn);

  // Empties it, keeping the arena's and the lists' memory for the next batch.
  void Clear();

 private:
  struct Latest {
    size_t offset = 0;  // the key: keys_[offset, offset + size)
    uint32_t size = 0;
    bool dropped = false;
    engine::BaselineEntry entry;
  };
  struct Seen {
    size_t offset = 0;  // the identity key: keys_[offset, offset + size)
    uint32_t size = 0;
    bool dropped = false;
    uint32_t pairs = 0;
    int64_t newest = INT64_MIN;
    uint64_t ids = 0;
  };
  struct SeenPair {
    uint32_t record;  // index in seen_
    int64_t time;
    uint64_t id_hash;
  };
  std::string_view KeyOf(size_t offset, uint32_t size) const {
    return std::string_view(keys_).substr(offset, size);
  }
  size_t AddKey(std::string_view key);  // its offset
  // order_ = the indices of the entries not dropped, in key order.
  template <typename Entry>
  void OrderByKey(const std::vector<Entry>& entries);

  std::string keys_;  // every key, once
  std::vector<Latest> latest_;
  absl::flat_hash_map<engine::StableHash128, uint32_t> latest_index_;
  std::vector<Seen> seen_;
  absl::flat_hash_map<engine::StableHash128, uint32_t> seen_index_;
  std::vector<SeenPair> pairs_;
  // Reused at commit.
  std::vector<uint32_t> order_, starts_, placed_;
  std::string packed_;
};

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_COALESCED_WRITES_H_
