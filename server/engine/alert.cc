#include "server/engine/alert.h"

#include <cstdio>

namespace trailsentry::engine {
namespace {

void AddNonEmpty(absl::btree_set<std::string>& set, std::string_view v) {
  if (!v.empty()) set.emplace(v);
}

// FNV-1a, 64-bit, with a caller-chosen offset basis: stable across processes.
uint64_t Fnv1a(uint64_t h, std::string_view s) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // Length-terminate each part so ("ab","c") and ("a","bc") differ.
  h ^= s.size();
  h *= 0x100000001b3ULL;
  return h;
}

}  // namespace

void Alert::AddEvent(const AlertEventFields& e) {
  AddNonEmpty(account_ids, e.account);
  AddNonEmpty(access_key_ids, e.access_key_id);
  AddNonEmpty(source_ips, e.source_ip);
  AddNonEmpty(regions, e.region);
  AddNonEmpty(user_agents, e.user_agent);
  AddNonEmpty(providers, e.provider);
  AddNonEmpty(actions, e.action);
  if (event_count == 0 || e.time < first_event_time) first_event_time = e.time;
  if (event_count == 0 || e.time > last_event_time) last_event_time = e.time;
  ++event_count;
  if (!e.event_id.empty()) {
    event_ids.emplace(e.time, std::string(e.event_id));
    if (event_ids.size() > kMaxAlertEventIds) event_ids.erase(std::prev(event_ids.end()));
    std::pair<EventTime, std::string> key(e.time, e.event_id);
    if (samples.size() < kMaxSampleEvents || key < std::prev(samples.end())->first) {
      samples.try_emplace(
          std::move(key),
          SampleEvent{std::string(e.action), std::string(e.provider), std::string(e.source_ip),
                      std::string(e.region), std::string(e.user_agent),
                      std::string(e.access_key_id), std::string(e.account)});
      if (samples.size() > kMaxSampleEvents) samples.erase(std::prev(samples.end()));
    }
  }
}

void Alert::Absorb(const Alert& o) {
  account_ids.insert(o.account_ids.begin(), o.account_ids.end());
  access_key_ids.insert(o.access_key_ids.begin(), o.access_key_ids.end());
  source_ips.insert(o.source_ips.begin(), o.source_ips.end());
  regions.insert(o.regions.begin(), o.regions.end());
  user_agents.insert(o.user_agents.begin(), o.user_agents.end());
  providers.insert(o.providers.begin(), o.providers.end());
  actions.insert(o.actions.begin(), o.actions.end());
  event_ids.insert(o.event_ids.begin(), o.event_ids.end());
  while (event_ids.size() > kMaxAlertEventIds) event_ids.erase(std::prev(event_ids.end()));
  samples.insert(o.samples.begin(), o.samples.end());
  while (samples.size() > kMaxSampleEvents) samples.erase(std::prev(samples.end()));
  if (o.event_count > 0) {
    first_event_time =
        event_count == 0 ? o.first_event_time : std::min(first_event_time, o.first_event_time);
    last_event_time =
        event_count == 0 ? o.last_event_time : std::max(last_event_time, o.last_event_time);
  }
  event_count += o.event_count;
  if (o.window_end < window_end || (o.window_end == window_end && o.window_start < window_start)) {
    window_start = o.window_start;
    window_end = o.window_end;
  }
}

std::string MakeAlertId(std::string_view rule_id, std::string_view tenant,
                        std::string_view identity, EventTime window_start) {
  const std::string start = std::to_string(window_start);
  uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL;
  for (std::string_view part : {rule_id, tenant, identity, std::string_view(start)}) {
    a = Fnv1a(a, part);
    b = Fnv1a(b, part);
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return std::string(rule_id == kBurstRuleId ? "burst-" : "unusual-ip-") + buf;
}

}  // namespace trailsentry::engine
