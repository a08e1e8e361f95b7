#include "server/engine/baseline.h"

#include <algorithm>

namespace trailsentry::engine {

void Observe(BaselineEntry& e, EventTime t, int64_t history_ms) {
  if (e.count == 0) {
    e = {t, t, 1};
    return;
  }
  ++e.count;
  if (t > e.last_seen) {
    if (t - e.last_seen > history_ms) {
      e.first_seen = t;  // unseen for longer than history: starts afresh
    }
    e.last_seen = t;
  } else if (t < e.first_seen && e.first_seen - t <= history_ms) {
    e.first_seen = t;  // a late observation extends the run back
  }
}

void ObserveProfile(IdentityProfile& p, EventTime t) {
  if (p.count == 0) {
    p = {t, t, 1};
    return;
  }
  ++p.count;
  p.first_seen = std::min(p.first_seen, t);
  p.last_seen = std::max(p.last_seen, t);
}

bool IsKnownAt(const BaselineEntry& e, EventTime t, int64_t settle_ms, int64_t history_ms) {
  if (e.count == 0 || e.first_seen > t - settle_ms || e.first_seen >= t) return false;
  return t <= e.last_seen || e.last_seen >= t - history_ms;
}

}  // namespace trailsentry::engine
