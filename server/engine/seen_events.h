// SeenEvents: the ids of an identity's events within max_lateness of its newest
// event, so that a re-sent event (a client's retry, CloudTrail's redelivery) is
// recognised and changes nothing.
//
// Most identities hold a few ids: up to kInline live in the object itself (in
// the identity's slot: no allocation, no pointer to follow). More spill into a
// table of its own: one array of (id, time) slots, probed linearly from the
// id's low bits (ids are hashes already), so a lookup follows one pointer to
// the slot it reads; at most three quarters full. The table goes away again
// once pruning leaves kInline / 2 ids or fewer.
//
//   SeenEvents seen;
//   if (!seen.Insert(id_hash, t)) { /* duplicate */ }
//   seen.Prune(newest - max_lateness);
#ifndef TRAILSENTRY_SERVER_ENGINE_SEEN_EVENTS_H_
#define TRAILSENTRY_SERVER_ENGINE_SEEN_EVENTS_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "server/engine/event_time.h"

namespace trailsentry::engine {

class SeenEvents {
 public:
  static constexpr uint32_t kInline = 4;

  SeenEvents() = default;
  // A moved-from SeenEvents holds nothing (and may be used again).
  SeenEvents(SeenEvents&& other) noexcept
      : inline_(other.inline_),
        count_(std::exchange(other.count_, 0)),
        mask_(std::exchange(other.mask_, 0)),
        table_(std::move(other.table_)) {}
  SeenEvents& operator=(SeenEvents&& other) noexcept {
    inline_ = other.inline_;
    count_ = std::exchange(other.count_, 0);
    mask_ = std::exchange(other.mask_, 0);
    table_ = std::move(other.table_);
    return *this;
  }

  // False when `id_hash` is already held (the event is a duplicate); else holds it.
  bool Insert(uint64_t id_hash, EventTime time) {
    if (table_ == nullptr) {
      for (uint32_t i = 0; i < count_; ++i) {
        if (inline_[i].id_hash == id_hash) return false;
      }
      if (count_ < kInline) {
        inline_[count_++] = {id_hash, time};
        return true;
      }
      Rebuild(kMinSlots, kNoPrune, count_);  // spills
    } else if (Full()) {
      Rebuild(2 * (mask_ + size_t{1}), kNoPrune, count_);
    }
    Seen& slot = table_[Probe(id_hash)];
    if (slot.time != kFree) return false;
    slot = {id_hash, time};
    ++count_;
    return true;
  }

  // Forgets ids of events older than `keep_from`. Amortised: held inline, it
  // scans only when full; spilled, only when the next id would grow the table,
  // and then leaves the table at most three eighths full (so at least as many
  // ids as it scanned come before the next scan). Which old ids are still held
  // never matters, as only events no older than `keep_from` are looked up.
  void Prune(EventTime keep_from) {
    if (table_ == nullptr) {
      if (count_ < kInline) return;
      uint32_t kept = 0;
      for (uint32_t i = 0; i < count_; ++i) {
        if (inline_[i].time >= keep_from) inline_[kept++] = inline_[i];
      }
      count_ = kept;
      return;
    }
    if (!Full()) return;
    uint32_t kept = 0;
    for (uint32_t i = 0; i <= mask_; ++i) {
      kept += table_[i].time != kFree && table_[i].time >= keep_from ? 1 : 0;
    }
    size_t slots = kMinSlots;
    while (8 * static_cast<size_t>(kept) > 3 * slots) slots *= 2;
    Rebuild(slots, keep_from, kept);
  }

  size_t size() const { return count_; }

 private:
  struct Seen {
    uint64_t id_hash;
    EventTime time;
  };
  // A free table slot's time: no event has it (the engine's "no time" too).
  static constexpr EventTime kFree = INT64_MIN;
  static constexpr EventTime kNoPrune = INT64_MIN + 1;
  static constexpr size_t kMinSlots = 16;

  // The next id would take the table past three quarters full.
  bool Full() const { return 4 * (static_cast<size_t>(count_) + 1) > 3 * (mask_ + size_t{1}); }

  // The slot holding `id_hash`, or the free slot where it goes.
  size_t Probe(uint64_t id_hash) const {
    for (size_t i = id_hash & mask_;; i = (i + 1) & mask_) {
      const Seen& s = table_[i];
      if (s.time == kFree || s.id_hash == id_hash) return i;
    }
  }

  // Moves the `kept` ids held (inline or in the table) no older than
  // `keep_from` into a new table of `slots` slots (a power of two, room for
  // them), or back inline if kInline / 2 or fewer are left of a table.
  void Rebuild(size_t slots, EventTime keep_from, uint32_t kept) {
    std::unique_ptr<Seen[]> old = std::move(table_);
    const Seen* from = old != nullptr ? old.get() : inline_.data();
    const size_t n = old != nullptr ? mask_ + size_t{1} : count_;
    count_ = 0;
    if (old != nullptr && kept <= kInline / 2) {  // room inline again, so no spill at once
      for (size_t i = 0; i < n; ++i) {
        if (from[i].time != kFree && from[i].time >= keep_from) inline_[count_++] = from[i];
      }
      mask_ = 0;
      return;
    }
    table_ = std::make_unique<Seen[]>(slots);
    mask_ = static_cast<uint32_t>(slots - 1);
    for (size_t i = 0; i < slots; ++i) table_[i].time = kFree;
    for (size_t i = 0; i < n; ++i) {
      if (from[i].time == kFree || from[i].time < keep_from) continue;
      table_[Probe(from[i].id_hash)] = from[i];
      ++count_;
    }
  }

  std::array<Seen, kInline> inline_{};  // held inline: [0, count_)
  uint32_t count_ = 0;                  // ids held, inline or in the table
  uint32_t mask_ = 0;                   // the table's slots - 1
  std::unique_ptr<Seen[]> table_;       // spilled: mask_ + 1 slots
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_SEEN_EVENTS_H_
