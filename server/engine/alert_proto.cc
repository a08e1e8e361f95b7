#include "server/engine/alert_proto.h"

#include <algorithm>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace trailsentry::engine {
namespace {

template <typename Set>
void Copy(const Set& set, google::protobuf::RepeatedPtrField<std::string>* out) {
  out->Reserve(static_cast<int>(set.size()));
  for (const std::string& s : set) out->Add(std::string(s));
}

// "A, B, C and 4 more".
template <typename Set>
std::string Listed(const Set& set, size_t at_most) {
  std::string out;
  size_t n = 0;
  for (const std::string& s : set) {
    if (n == at_most) break;
    absl::StrAppend(&out, n == 0 ? "" : ", ", s);
    ++n;
  }
  if (set.size() > n) absl::StrAppend(&out, " and ", set.size() - n, " more");
  return out;
}

std::string Seconds(EventTime ms) {
  return absl::StrFormat("%.1f s", static_cast<double>(ms) / 1000.0);
}

// One sentence from the alert's content (Alert.reason).
std::string Reason(const Alert& a) {
  if (a.rule == Rule::kBurst) {
    return absl::StrCat(
        a.identity, " made ", a.actions.size(),
        " distinct discovery calls through the AWS CLI within ",
        Seconds(a.window_end - a.window_start), " from ", Listed(a.source_ips, 3), ": ",
        Listed(a.actions, 8),
        a.event_count > 1 ? absl::StrCat(" (", a.event_count, " calls in all)") : "");
  }
  return absl::StrCat(
      a.identity, " made ", a.actions.size(), " distinct discovery calls (", Listed(a.actions, 8),
      ") from ", a.network, ", a network outside its baseline of ", a.known_network_count,
      a.known_network_count == 1 ? " network" : " networks",
      a.new_to_account ? absl::StrCat(" and new to account ", Listed(a.account_ids, 3)) : "");
}

}  // namespace

google::protobuf::Timestamp ToTimestamp(EventTime t) {
  google::protobuf::Timestamp ts;
  int64_t secs = t / kMillisPerSecond, ms = t % kMillisPerSecond;
  if (ms < 0) {
    ms += kMillisPerSecond;
    --secs;
  }
  ts.set_seconds(secs);
  ts.set_nanos(static_cast<int32_t>(ms * 1000000));
  return ts;
}

void ToProto(const Alert& a, v1::Alert* out) {
  const bool burst = a.rule == Rule::kBurst;
  out->set_alert_id(a.alert_id);
  out->set_rule_id(std::string(RuleId(a.rule)));
  out->set_rule_name(std::string(burst ? kBurstRuleName : kUnusualIpRuleName));
  out->set_severity(!burst && a.new_to_account ? v1::MEDIUM : v1::LOW);
  out->set_risk_score(burst              ? kBurstRiskScore
                      : a.new_to_account ? kUnusualIpNewToAccountRiskScore
                                         : kUnusualIpRiskScore);
  out->set_mitre_tactic("TA0007");
  for (const char* t : {"T1087.004", "T1526", "T1580"}) out->add_mitre_techniques(t);
  if (!burst) out->add_mitre_techniques("T1078.004");
  out->set_tenant(a.tenant);
  out->set_identity(a.identity);
  out->set_identity_type(a.identity_type);
  out->set_user_name(a.user_name);
  Copy(a.account_ids, out->mutable_account_ids());
  Copy(a.access_key_ids, out->mutable_access_key_ids());
  Copy(a.source_ips, out->mutable_source_ips());
  Copy(a.regions, out->mutable_regions());
  Copy(a.user_agents, out->mutable_user_agents());
  Copy(a.providers, out->mutable_providers());
  Copy(a.actions, out->mutable_actions());
  out->set_distinct_action_count(static_cast<int32_t>(a.actions.size()));
  *out->mutable_first_event_time() = ToTimestamp(a.first_event_time);
  *out->mutable_last_event_time() = ToTimestamp(a.last_event_time);
  *out->mutable_window_start() = ToTimestamp(a.window_start);
  *out->mutable_window_end() = ToTimestamp(a.window_end);
  for (const auto& [time, id] : a.event_ids) out->add_event_ids(id);
  out->set_event_count(static_cast<int32_t>(std::min<int64_t>(a.event_count, INT32_MAX)));
  out->set_update_count(a.update_count);
  out->set_superseded_by(a.superseded_by);
  if (!burst) {
    out->set_network(a.network);
    out->set_new_to_account(a.new_to_account);
    *out->mutable_baseline_since() = ToTimestamp(a.baseline_since);
    out->set_known_network_count(a.known_network_count);
    for (const std::string& n : a.recent_known_networks) out->add_recent_known_networks(n);
  }
  for (const auto& [key, s] : a.samples) {
    v1::AlertEvent* e = out->add_sample_events();
    *e->mutable_event_time() = ToTimestamp(key.first);
    e->set_event_id(key.second);
    e->set_event_name(s.action);
    e->set_event_source(s.provider);
    e->set_source_ip(s.source_ip);
    e->set_region(s.region);
    e->set_user_agent(s.user_agent);
    e->set_access_key_id(s.access_key_id);
    e->set_account_id(s.account);
  }
  out->set_reason(Reason(a));
}

bool ParseTimestamp(std::string_view rfc3339, google::protobuf::Timestamp* out) {
  std::optional<EventTime> t = ParseRfc3339(rfc3339);
  if (!t) return false;
  *out = ToTimestamp(*t);
  return true;
}

EventTime FromTimestamp(const google::protobuf::Timestamp& t) {
  return t.seconds() * kMillisPerSecond + t.nanos() / 1000000;
}

Alert FromProto(const v1::Alert& p, EventTime opened_at,
                const std::vector<EventTime>& event_times) {
  Alert a;
  a.rule = p.rule_id() == kBurstRuleId ? Rule::kBurst : Rule::kUnusualSourceIp;
  a.alert_id = p.alert_id();
  a.tenant = p.tenant();
  a.identity = p.identity();
  a.identity_type = p.identity_type();
  a.user_name = p.user_name();
  a.account_ids.insert(p.account_ids().begin(), p.account_ids().end());
  a.access_key_ids.insert(p.access_key_ids().begin(), p.access_key_ids().end());
  a.source_ips.insert(p.source_ips().begin(), p.source_ips().end());
  a.regions.insert(p.regions().begin(), p.regions().end());
  a.user_agents.insert(p.user_agents().begin(), p.user_agents().end());
  a.providers.insert(p.providers().begin(), p.providers().end());
  a.actions.insert(p.actions().begin(), p.actions().end());
  a.event_count = p.event_count();
  a.first_event_time = FromTimestamp(p.first_event_time());
  a.last_event_time = FromTimestamp(p.last_event_time());
  a.window_start = FromTimestamp(p.window_start());
  a.window_end = FromTimestamp(p.window_end());
  // Without their times, event ids count as at the alert's first event.
  const bool timed = event_times.size() == static_cast<size_t>(p.event_ids_size());
  for (int i = 0; i < p.event_ids_size(); ++i) {
    a.event_ids.emplace(timed ? event_times[static_cast<size_t>(i)] : a.first_event_time,
                        p.event_ids(i));
  }
  for (const v1::AlertEvent& e : p.sample_events()) {
    a.samples.try_emplace({FromTimestamp(e.event_time()), e.event_id()},
                          SampleEvent{e.event_name(), e.event_source(), e.source_ip(), e.region(),
                                      e.user_agent(), e.access_key_id(), e.account_id()});
  }
  a.update_count = p.update_count();
  a.superseded_by = p.superseded_by();
  a.network = p.network();
  a.new_to_account = p.new_to_account();
  a.baseline_since = FromTimestamp(p.baseline_since());
  a.known_network_count = p.known_network_count();
  a.recent_known_networks.assign(p.recent_known_networks().begin(),
                                 p.recent_known_networks().end());
  a.opened_at = opened_at;
  return a;
}

void ToProto(const Verdict& v, std::string_view event_id, v1::Verdict* out) {
  out->set_status(v1::Verdict::ACCEPTED);
  for (int flag = v1::DISCOVERY; flag <= v1::DUPLICATE; ++flag) {
    if (v.flags & (1u << flag)) out->add_flags(static_cast<v1::VerdictFlag>(flag));
  }
  out->set_exclusion(static_cast<v1::Exclusion>(v.exclusion));
  out->set_identity(v.identity.data(), v.identity.size());
  out->set_event_id(event_id.data(), event_id.size());
  if (!v.burst_alert_id.empty()) out->add_alert_ids(v.burst_alert_id);
  if (!v.unusual_ip_alert_id.empty()) out->add_alert_ids(v.unusual_ip_alert_id);
}

}  // namespace trailsentry::engine
