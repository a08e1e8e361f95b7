// BatchIndex: a hash table from 128-bit ids (engine::StableHash128) to uint32
// indices, for the tables CoalescedWrites rebuilds every batch (internal to
// storage).
//
// Clear() empties it in constant time and keeps its memory: every slot carries
// the generation it was filled in, and only slots of the current generation are
// taken. So a batch after a large one neither frees nor allocates its table, nor
// touches fresh pages (absl's clear() frees a large table, and reserving it
// again maps new pages, each faulted in by the next batch). A slot holds the id
// and its value side by side: a lookup reads one slot, not a control byte and
// then a slot elsewhere. Linear probing from the id's low bits (ids are hashes
// already), at most half full.
//
// There is no erase: a value set back to kNone reads as absent, and the next
// operator[] of that id sets a new one.
//
// The generation counter wraps after 2^32 clears (weeks of a busy server's
// requests): then every slot is marked free again. Tests take a narrower
// counter (BasicBatchIndex<uint8_t>) to wrap it often.
//
//   BatchIndex index;
//   uint32_t& v = index[id];          // kNone: the id had none
//   if (v == BatchIndex::kNone) v = next++;
//   index.Find(id);                   // kNone if absent
//   index.Clear();
#ifndef TRAILSENTRY_STORAGE_INTERNAL_BATCH_INDEX_H_
#define TRAILSENTRY_STORAGE_INTERNAL_BATCH_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "server/engine/stable_hash.h"

namespace trailsentry::storage::internal {

template <typename Generation>
class BasicBatchIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The value of `id`; a slot holding kNone is made for it if it has none.
  uint32_t& operator[](const engine::StableHash128& id) {
    if (2 * (used_ + 1) > slots_.size()) Grow();
    Slot* slot = &slots_[Probe(slots_, id, generation_)];
    if (slot->generation != generation_) {
      *slot = {id.high, id.low, kNone, generation_};
      ++used_;
    }
    return slot->value;
  }

  // The value of `id`, kNone if it has none.
  uint32_t Find(const engine::StableHash128& id) const {
    if (slots_.empty()) return kNone;
    const Slot& slot = slots_[Probe(slots_, id, generation_)];
    return slot.generation == generation_ ? slot.value : kNone;
  }

  // Brings the slot where a probe for `id` starts into the cache.
  void Prefetch(const engine::StableHash128& id) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[Home(slots_.size(), id)]);
  }

  // Every id forgotten; the memory is kept for the next batch.
  void Clear() {
    used_ = 0;
    if (++generation_ == 0) {  // wrapped: no slot may look current
      for (Slot& s : slots_) s.generation = 0;
      generation_ = 1;
    }
  }

  // Ids given a slot since the last Clear (those set back to kNone included).
  size_t size() const { return used_; }

 private:
  struct Slot {
    uint64_t high = 0, low = 0;
    uint32_t value = kNone;
    Generation generation = 0;  // taken when equal to generation_
  };

  // Where a probe for `id` starts among `slot_count` slots (a power of two).
  static size_t Home(size_t slot_count, const engine::StableHash128& id) {
    return id.low & (slot_count - 1);
  }
  // Where `id` is in `slots` (filled in `generation`), or the free slot where
  // it would go.
  static size_t Probe(const std::vector<Slot>& slots, const engine::StableHash128& id,
                      Generation generation) {
    const size_t mask = slots.size() - 1;
    for (size_t i = Home(slots.size(), id);; i = (i + 1) & mask) {
      const Slot& s = slots[i];
      if (s.generation != generation || (s.low == id.low && s.high == id.high)) return i;
    }
  }

  // Twice the slots (64 at first), the current generation's moved over (new
  // slots are of generation 0, never current).
  void Grow() {
    std::vector<Slot> bigger(slots_.empty() ? 64 : 2 * slots_.size());
    for (const Slot& s : slots_) {
      if (s.generation == generation_) bigger[Probe(bigger, {s.high, s.low}, generation_)] = s;
    }
    slots_.swap(bigger);
  }

  std::vector<Slot> slots_;  // a power of two of them
  size_t used_ = 0;
  Generation generation_ = 1;
};

using BatchIndex = BasicBatchIndex<uint32_t>;

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_BATCH_INDEX_H_
