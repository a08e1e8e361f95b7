// SeenEvents: the ids of an identity's events within max_lateness of its newest
// event, so that a re-sent event (a client's retry, CloudTrail's redelivery) is
// recognised and changes nothing.
//
// Most identities hold a few ids: up to kInline live in the object itself (in
// the identity's slot: no allocation, no pointer to follow); more spill into a
// hash table, which goes away again once pruning leaves kInline / 2 or fewer.
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

#include "absl/container/flat_hash_map.h"
#include "server/engine/event_time.h"

namespace trailsentry::engine {

class SeenEvents {
 public:
  static constexpr size_t kInline = 4;

  // False when `id_hash` is already held (the event is a duplicate); else holds it.
  bool Insert(uint64_t id_hash, EventTime time) {
    if (spilled_ == nullptr) {
      for (uint32_t i = 0; i < count_; ++i) {
        if (inline_[i].id_hash == id_hash) return false;
      }
      if (count_ < kInline) {
        inline_[count_++] = {id_hash, time};
        return true;
      }
      Spill();
    }
    return spilled_->try_emplace(id_hash, time).second;
  }

  // Forgets ids of events older than `keep_from`. Amortised: held inline, it
  // scans only when full; spilled, only once the table has doubled since the
  // last scan. Which old ids are still held never matters, as only events no
  // older than `keep_from` are looked up.
  void Prune(EventTime keep_from) {
    if (spilled_ == nullptr) {
      if (count_ < kInline) return;
      uint32_t kept = 0;
      for (uint32_t i = 0; i < count_; ++i) {
        if (inline_[i].time >= keep_from) inline_[kept++] = inline_[i];
      }
      count_ = kept;
      return;
    }
    if (spilled_->size() < prune_at_) return;
    absl::erase_if(*spilled_, [&](const auto& kv) { return kv.second < keep_from; });
    if (spilled_->size() <= kInline / 2) {  // room inline again, so no spill at once
      count_ = 0;
      for (const auto& [id_hash, time] : *spilled_) inline_[count_++] = {id_hash, time};
      spilled_.reset();
      return;
    }
    prune_at_ = static_cast<uint32_t>(spilled_->size() * 2);
  }

  size_t size() const { return spilled_ != nullptr ? spilled_->size() : count_; }

 private:
  struct Seen {
    uint64_t id_hash;
    EventTime time;
  };
  using Table = absl::flat_hash_map<uint64_t, EventTime>;

  // Moves the inline ids into a table (the inline array is full).
  void Spill() {
    spilled_ = std::make_unique<Table>();
    spilled_->reserve(2 * kInline);
    for (uint32_t i = 0; i < count_; ++i) spilled_->emplace(inline_[i].id_hash, inline_[i].time);
    count_ = 0;
    prune_at_ = 2 * kInline;
  }

  std::array<Seen, kInline> inline_{};
  uint32_t count_ = 0;     // of inline_, while not spilled
  uint32_t prune_at_ = 0;  // of spilled_
  std::unique_ptr<Table> spilled_;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_SEEN_EVENTS_H_
