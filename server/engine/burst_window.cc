#include "server/engine/burst_window.h"

#include <algorithm>
#include <cstring>

#include "absl/hash/hash.h"
#include "server/engine/absl_view.h"

namespace trailsentry::engine {
namespace {

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

// Reused across calls on one thread: a rescan allocates nothing once warm.
struct Scratch {
  std::vector<uint32_t> old_tags;                 // tags before the rescan, from `lb`
  std::vector<uint32_t> new_tags;                 // tags after it, from `lb`
  absl::flat_hash_map<uint32_t, uint32_t> alias;  // merged serial -> surviving serial
  absl::flat_hash_map<uint32_t, int> action_counts;
  struct Opening {
    uint32_t serial;
    EventTime window_start, fire;
  };
  std::vector<Opening> openings;
  std::vector<uint32_t> losers;   // existing alerts merged into another
  std::vector<uint32_t> changed;  // existing alerts updated
  std::vector<uint32_t> created;  // alerts opened

  uint32_t Resolve(uint32_t s) const {
    while (s != 0) {
      auto it = alias.find(s);
      if (it == alias.end()) break;
      s = it->second;
    }
    return s;
  }
  void Reset() {
    old_tags.clear();
    new_tags.clear();
    alias.clear();
    action_counts.clear();
    openings.clear();
    losers.clear();
    changed.clear();
    created.clear();
  }
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

void PushUnique(std::vector<uint32_t>& v, uint32_t x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

BurstWindow::Event BurstWindow::Intern(const BurstInput& in, StringPool& pool) const {
  const AlertEventFields& f = in.fields;
  Event e;
  e.time = f.time;
  e.action = pool.Acquire(f.action);
  e.provider = pool.Acquire(f.provider);
  e.source_ip = pool.Acquire(f.source_ip);
  e.region = pool.Acquire(f.region);
  e.user_agent = pool.Acquire(f.user_agent);
  e.access_key = pool.Acquire(f.access_key_id);
  e.account = pool.Acquire(f.account);
  e.alert = 0;
  if (f.event_id.size() <= sizeof e.event_id) {
    e.long_event_id = StringPool::kEmpty;
    e.event_id_size = static_cast<uint8_t>(f.event_id.size());
    if (!f.event_id.empty()) std::memcpy(e.event_id, f.event_id.data(), f.event_id.size());
  } else {
    e.long_event_id = pool.Acquire(f.event_id);
    e.event_id_size = 0;
  }
  return e;
}

void BurstWindow::ReleaseStrings(const Event& e, StringPool& pool) {
  for (uint32_t id : {e.action, e.provider, e.source_ip, e.region, e.user_agent, e.access_key,
                      e.account, e.long_event_id}) {
    pool.Release(id);
  }
}

AlertEventFields BurstWindow::Fields(const Event& e, const StringPool& pool) const {
  AlertEventFields f;
  f.time = e.time;
  f.event_id = e.long_event_id != StringPool::kEmpty
                   ? pool.Get(e.long_event_id)
                   : std::string_view(e.event_id, e.event_id_size);
  f.action = pool.Get(e.action);
  f.provider = pool.Get(e.provider);
  f.source_ip = pool.Get(e.source_ip);
  f.region = pool.Get(e.region);
  f.user_agent = pool.Get(e.user_agent);
  f.access_key_id = pool.Get(e.access_key);
  f.account = pool.Get(e.account);
  return f;
}

AddResult BurstWindow::Add(const BurstInput& input, BurstContext& ctx) {
  const Config& config = *ctx.config;
  const EventTime t = input.fields.time;
  if (identity_type_.empty()) identity_type_ = input.identity_type;
  if (user_name_.empty()) user_name_ = input.user_name;

  auto pos = std::upper_bound(events_.begin(), events_.end(), t,
                              [](EventTime v, const Event& e) { return v < e.time; });
  const size_t index = static_cast<size_t>(pos - events_.begin());
  events_.insert(pos, Intern(input, *ctx.pool));

  if (config.burst.mode == BurstMode::kTumbling) {
    RescanTumbling(index, ctx);
  } else {
    // Re-evaluate from the first event at time t: every earlier scan step is
    // unchanged, since no earlier window holds the new event.
    auto first = std::lower_bound(events_.begin(), events_.end(), t,
                                  [](const Event& e, EventTime v) { return e.time < v; });
    RescanSliding(static_cast<size_t>(first - events_.begin()), ctx);
  }
  AddResult result;
  if (const uint32_t serial = events_[index].alert; serial != 0) {
    result.alert_id = alerts_.at(serial)->alert.alert_id;
  }
  Prune(config, ctx.identity_newest, *ctx.pool);
  return result;
}

void BurstWindow::CreateAlert(uint32_t serial, EventTime window_start, EventTime window_end,
                              EventTime fire, BurstContext& ctx) {
  auto open = std::make_unique<OpenAlert>();
  Alert& a = open->alert;
  a.alert_id = MakeAlertId(kBurstRuleId, ctx.tenant, ctx.identity, window_start);
  a.tenant = ctx.tenant;
  a.identity = ctx.identity;
  a.identity_type = identity_type_;
  a.user_name = user_name_;
  a.window_start = window_start;
  a.window_end = window_end;
  a.opened_at = window_start;
  open->fire_time = fire;
  alerts_.emplace(serial, std::move(open));
}

void BurstWindow::RescanSliding(size_t first, BurstContext& ctx) {
  const Config& config = *ctx.config;
  const int64_t window = Millis(config.burst.window);
  const int64_t suppression = Millis(config.burst.suppression);
  const int threshold = config.burst.threshold;
  const size_t n = events_.size();
  const EventTime t0 = events_[first].time;
  // Lookbacks from firing times >= t0 reach events later than t0 - window.
  const size_t lb =
      static_cast<size_t>(std::upper_bound(events_.begin(), events_.end(), t0 - window,
                                           [](EventTime v, const Event& e) { return v < e.time; }) -
                          events_.begin());

  Scratch& s = ThreadScratch();
  s.Reset();
  for (size_t i = lb; i < n; ++i) s.old_tags.push_back(events_[i].alert);
  s.new_tags.assign(s.old_tags.begin(), s.old_tags.end());
  for (size_t i = first; i < n; ++i) s.new_tags[i - lb] = 0;
  const uint32_t first_provisional = next_serial_;

  // Scan state just before `first`.
  uint32_t cur = 0;
  EventTime last = 0;
  if (first > 0) {
    const Event& prev = events_[first - 1];
    auto it = alerts_.find(prev.alert);
    if (prev.alert != 0 && it != alerts_.end() && prev.time >= it->second->fire_time) {
      cur = prev.alert;
      last = prev.time;
    }
  } else if (tail_.alert != 0 && alerts_.contains(tail_.alert)) {
    cur = tail_.alert;
    last = tail_.last;
  }

  auto merge = [&](uint32_t a, uint32_t b) {
    a = s.Resolve(a);
    b = s.Resolve(b);
    if (a == 0 || b == 0 || a == b) return;
    const uint32_t survivor = std::min(a, b), loser = std::max(a, b);
    s.alias[loser] = survivor;
    if (loser < first_provisional) s.losers.push_back(loser);
  };
  auto tag = [&](size_t i, uint32_t serial) {
    s.new_tags[i - lb] = serial;
    if (const uint32_t old = s.old_tags[i - lb]; old != 0) merge(old, serial);
  };

  // Distinct actions in (tj - window, tj], kept with two pointers.
  size_t left = lb, right = lb;
  int distinct = 0;
  auto add_action = [&](uint32_t action) {
    if (s.action_counts[action]++ == 0) ++distinct;
  };
  auto remove_action = [&](uint32_t action) {
    if (--s.action_counts[action] == 0) --distinct;
  };

  for (size_t j = first; j < n; ++j) {
    const EventTime tj = events_[j].time;
    while (right < n && events_[right].time <= tj) add_action(events_[right++].action);
    while (left < right && events_[left].time <= tj - window) remove_action(events_[left++].action);

    if (cur != 0 && tj - last <= suppression) {
      tag(j, cur);
      last = tj;
      continue;
    }
    cur = 0;
    if (distinct > threshold) {
      const uint32_t serial = next_serial_++;
      s.openings.push_back({serial, events_[left].time, tj});
      for (size_t k = left; k < j; ++k) {
        if (s.new_tags[k - lb] == 0) tag(k, serial);
      }
      tag(j, serial);
      cur = serial;
      last = tj;
    }
  }

  // Open the provisional alerts that survived, and move windows earlier.
  for (const Scratch::Opening& o : s.openings) {
    const uint32_t survivor = s.Resolve(o.serial);
    if (survivor == o.serial) {
      CreateAlert(o.serial, o.window_start, o.fire, o.fire, ctx);
      s.created.push_back(o.serial);
    } else if (OpenAlert& a = *alerts_.at(survivor);
               o.fire < a.fire_time ||
               (o.fire == a.fire_time && o.window_start < a.alert.window_start)) {
      // A late event made an earlier (or wider) first firing window.
      a.fire_time = o.fire;
      a.alert.window_start = o.window_start;
      a.alert.window_end = o.fire;
      PushUnique(s.changed, survivor);
    }
  }
  // Fold merged alerts into their survivors; they close, pointing at it.
  for (uint32_t loser : s.losers) {
    const uint32_t survivor = s.Resolve(loser);
    OpenAlert& from = *alerts_.at(loser);
    OpenAlert& into = *alerts_.at(survivor);
    into.alert.Absorb(from.alert);
    into.fire_time = std::min(into.fire_time, from.fire_time);
    from.alert.superseded_by = into.alert.alert_id;
    PushUnique(s.changed, survivor);
    // Its events before the rescanned range now belong to the survivor too.
    for (size_t i = 0; i < lb; ++i) {
      if (events_[i].alert == loser) events_[i].alert = survivor;
    }
  }
  // Events that joined an episode add to its alert.
  for (size_t i = lb; i < n; ++i) {
    const uint32_t now = s.Resolve(s.new_tags[i - lb]);
    const uint32_t before = s.Resolve(s.old_tags[i - lb]);
    events_[i].alert = now;
    if (now != 0 && now != before) {
      alerts_.at(now)->alert.AddEvent(Fields(events_[i], *ctx.pool));
      if (now < first_provisional) PushUnique(s.changed, now);
    }
  }
  if (tail_.alert != 0) tail_.alert = s.Resolve(tail_.alert);

  for (uint32_t serial : s.created) Report(serial, true, ctx);
  for (uint32_t serial : s.changed) Report(serial, false, ctx);
  for (uint32_t loser : s.losers) {
    Report(loser, false, ctx);
    alerts_.erase(loser);
  }
}

void BurstWindow::RescanTumbling(size_t index, BurstContext& ctx) {
  const Config& config = *ctx.config;
  const int64_t window = Millis(config.burst.window);
  const EventTime bucket_start = events_[index].time / window * window;
  const EventTime bucket_end = bucket_start + window;
  auto lo = std::lower_bound(events_.begin(), events_.end(), bucket_start,
                             [](const Event& e, EventTime v) { return e.time < v; });
  auto hi = std::lower_bound(lo, events_.end(), bucket_end,
                             [](const Event& e, EventTime v) { return e.time < v; });
  Scratch& s = ThreadScratch();
  s.Reset();
  int distinct = 0;
  uint32_t serial = 0;
  for (auto it = lo; it != hi; ++it) {
    if (s.action_counts[it->action]++ == 0) ++distinct;
    if (it->alert != 0) serial = it->alert;
  }
  if (distinct <= config.burst.threshold) return;
  const bool is_new = serial == 0;
  if (is_new) {
    serial = next_serial_++;
    CreateAlert(serial, bucket_start, bucket_end, bucket_start, ctx);
  }
  Alert& alert = alerts_.at(serial)->alert;
  for (auto it = lo; it != hi; ++it) {
    if (it->alert == 0) {
      it->alert = serial;
      alert.AddEvent(Fields(*it, *ctx.pool));
    }
  }
  Report(serial, is_new, ctx);
}

void BurstWindow::Report(uint32_t serial, bool is_new, BurstContext& ctx) {
  Alert& a = alerts_.at(serial)->alert;
  if (!is_new) ++a.update_count;
  ctx.changes->push_back(AlertChange{is_new, a});
}

void BurstWindow::Prune(const Config& config, EventTime newest, StringPool& pool) {
  const int64_t window = Millis(config.burst.window);
  const int64_t suppression = Millis(config.burst.suppression);
  // A future event is no older than newest - max_lateness; its windows reach back
  // one window further. Older events can never matter again.
  const EventTime keep_after = newest - Millis(config.max_lateness) - window;
  size_t k = 0;
  while (k < events_.size() && events_[k].time <= keep_after) ++k;
  // Erase in chunks so steady in-order traffic does not shift the vector each time.
  if (k == 0 || (k < 32 && k * 4 < events_.size() && k != events_.size())) return;
  for (size_t i = 0; i < k; ++i) {
    ReleaseStrings(events_[i], pool);
  }
  const Event& last_pruned = events_[k - 1];
  auto it = alerts_.find(last_pruned.alert);
  if (last_pruned.alert != 0 && it != alerts_.end() && last_pruned.time >= it->second->fire_time) {
    tail_ = {last_pruned.alert, last_pruned.time};
  } else {
    tail_ = {};
  }
  events_.erase(events_.begin(), events_.begin() + static_cast<ptrdiff_t>(k));

  // Alerts no future event can reach: no later event can chain within suppression.
  const EventTime closed_before = keep_after - suppression;
  for (auto a = alerts_.begin(); a != alerts_.end();) {
    if (a->second->alert.last_event_time < closed_before) {
      const uint32_t serial = a->first;
      for (Event& e : events_) {
        if (e.alert == serial) e.alert = 0;
      }
      if (tail_.alert == serial) tail_ = {};
      alerts_.erase(a++);
    } else {
      ++a;
    }
  }
}

void BurstWindow::Restore(const std::vector<LoggedEvent>& events,
                          const std::vector<Alert>& open_alerts, BurstContext& ctx) {
  const Config& config = *ctx.config;
  const EventTime reach = ctx.identity_newest - Millis(config.max_lateness + config.burst.window +
                                                       config.burst.suppression);
  for (const Alert& a : open_alerts) {
    if (a.rule != Rule::kBurst || a.last_event_time < reach) continue;
    auto open = std::make_unique<OpenAlert>();
    open->alert = a;
    open->fire_time = a.window_end;
    alerts_.emplace(next_serial_++, std::move(open));
  }
  for (const LoggedEvent& w : events) {
    if (w.kind != LogKind::kBurst) continue;
    if (identity_type_.empty()) identity_type_ = w.identity_type;
    if (user_name_.empty()) user_name_ = w.user_name;
    BurstInput in{{w.time, w.event_id, w.action, w.provider, w.source_ip, w.region, w.user_agent,
                   w.access_key_id, w.account},
                  w.identity_type,
                  w.user_name};
    Event e = Intern(in, *ctx.pool);
    for (const auto& [serial, open] : alerts_) {
      if (e.time >= open->alert.first_event_time && e.time <= open->alert.last_event_time) {
        e.alert = serial;
        break;
      }
    }
    events_.push_back(e);
  }
  std::stable_sort(events_.begin(), events_.end(),
                   [](const Event& a, const Event& b) { return a.time < b.time; });
  // The scan state before the first logged event, as Prune would have left it:
  // an alert whose last event precedes the log may still be extended by
  // chaining, and an episode that started before the log and goes on into it
  // holds the first logged event (its previous event is within suppression).
  // That holds too when it fired after the log's first event: the calls that
  // made it fire are not all in the log, so the rescan could not fire it again
  // (late events cannot reach back that far: the log starts max_lateness +
  // window + suppression behind the identity's newest event).
  if (!events_.empty()) {
    const EventTime front = events_.front().time;
    for (const auto& [serial, open] : alerts_) {
      const Alert& a = open->alert;
      if (a.last_event_time < front && (tail_.alert == 0 || a.last_event_time > tail_.last)) {
        tail_ = {serial, a.last_event_time};
      } else if (a.first_event_time < front && a.last_event_time >= front) {
        tail_ = {serial, front};
        break;
      }
    }
  }
  if (events_.empty()) return;
  std::vector<AlertChange> discard;
  std::vector<AlertChange>* reported = ctx.changes;
  ctx.changes = &discard;
  if (ctx.config->burst.mode == BurstMode::kTumbling) {
    for (size_t i = 0; i < events_.size(); ++i) RescanTumbling(i, ctx);
  } else {
    RescanSliding(0, ctx);
  }
  // Silent: restoring changes nothing a caller has not been told.
  for (auto& [serial, open] : alerts_) {
    for (const AlertChange& c : discard) {
      if (c.alert.alert_id == open->alert.alert_id && !c.is_new) --open->alert.update_count;
    }
  }
  ctx.changes = reported;
}

std::vector<std::string> BurstWindow::Actions(const StringPool& pool) const {
  std::vector<std::string> out;
  out.reserve(events_.size());
  for (const Event& e : events_) out.emplace_back(pool.Get(e.action));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<const Alert*> BurstWindow::OpenAlerts() const {
  std::vector<const Alert*> out;
  for (const auto& [serial, open] : alerts_) {
    if (open->alert.superseded_by.empty()) out.push_back(&open->alert);
  }
  return out;
}

void BurstWindow::ReleaseAll(StringPool& pool) {
  for (const Event& e : events_) ReleaseStrings(e, pool);
  events_.clear();
  alerts_.clear();
}

}  // namespace trailsentry::engine
