// SeenEvents: the ids of an identity's events within max_lateness of its newest
// event, so that a re-sent event (a client's retry, CloudTrail's redelivery) is
// recognised and changes nothing.
//
//   SeenEvents seen;
//   if (!seen.Insert(id_hash, t)) { /* duplicate */ }
//   seen.Prune(newest - max_lateness);
#ifndef TRAILSENTRY_SERVER_ENGINE_SEEN_EVENTS_H_
#define TRAILSENTRY_SERVER_ENGINE_SEEN_EVENTS_H_

#include <cstddef>
#include <cstdint>

#include "absl/container/flat_hash_map.h"
#include "server/engine/event_time.h"

namespace trailsentry::engine {

class SeenEvents {
 public:
  // False when `id_hash` is already held (the event is a duplicate); else holds it.
  bool Insert(uint64_t id_hash, EventTime time) { return ids_.try_emplace(id_hash, time).second; }

  // Forgets ids of events older than `keep_from`. Amortised: it scans only once
  // the set has doubled since the last scan. Which old ids are still held never
  // matters, as only events no older than `keep_from` are looked up.
  void Prune(EventTime keep_from) {
    if (ids_.size() < prune_at_) return;
    absl::erase_if(ids_, [&](const auto& kv) { return kv.second < keep_from; });
    prune_at_ = ids_.size() * 2 < kMinPrune ? kMinPrune : ids_.size() * 2;
  }

  size_t size() const { return ids_.size(); }

 private:
  static constexpr size_t kMinPrune = 16;
  absl::flat_hash_map<uint64_t, EventTime> ids_;
  size_t prune_at_ = kMinPrune;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_SEEN_EVENTS_H_
