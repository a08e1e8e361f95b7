// Source-IP baselines (spec §3): what is known of where an identity, and its
// account, usually come from.
//
// A BaselineEntry summarises every observation of one network for one identity
// (or account): the first and last observation of its latest run (a run ends when
// the network goes unseen for longer than `history`) and a count. From that
// summary, IsKnownAt answers "known at t" for any t in the latest run, whatever
// order the observations arrived in:
//
//   BaselineEntry e;
//   Observe(e, t, history);
//   bool known = IsKnownAt(e, t2, settle, history);
#ifndef TRAILSENTRY_SERVER_ENGINE_BASELINE_H_
#define TRAILSENTRY_SERVER_ENGINE_BASELINE_H_

#include <cstdint>

#include "server/engine/event_time.h"

namespace trailsentry::engine {

struct BaselineEntry {
  EventTime first_seen = 0;
  EventTime last_seen = 0;
  int64_t count = 0;  // 0: absent

  friend bool operator==(const BaselineEntry&, const BaselineEntry&) = default;
};

// An identity's profile: first and last observation, and how many. It never
// expires (a dormant identity coming back gets no fresh learning period).
using IdentityProfile = BaselineEntry;

// Adds an observation at `t`. A network unseen for longer than `history` starts
// afresh; an observation older than the entry's run by more than `history`
// belongs to an earlier run and only counts.
void Observe(BaselineEntry& entry, EventTime t, int64_t history_ms);

// Adds an observation to a profile: first/last seen and count, never reset.
void ObserveProfile(IdentityProfile& profile, EventTime t);

// spec §3: known at t when first seen <= t - settle and last seen (before t) >=
// t - history. Observations at or after t never make an entry known at t: within
// a run every gap is at most `history`, so for first_seen < t <= last_seen some
// observation lies in [t - history, t).
bool IsKnownAt(const BaselineEntry& entry, EventTime t, int64_t settle_ms, int64_t history_ms);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_BASELINE_H_
