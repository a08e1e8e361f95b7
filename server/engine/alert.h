// Alert: the content of one alert of either rule (spec §2, §3) as the engine
// accumulates it, before conversion to the trailsentry.v1.Alert proto.
//
// Every set is ordered, so an alert's content depends only on which events are in
// its episode, never on the order they arrived in:
//
//   Alert a;
//   a.rule = Rule::kBurst;
//   a.AddEvent(fields);
#ifndef TRAILSENTRY_SERVER_ENGINE_ALERT_H_
#define TRAILSENTRY_SERVER_ENGINE_ALERT_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "server/engine/event_time.h"

namespace trailsentry::engine {

enum class Rule { kBurst, kUnusualSourceIp };

inline constexpr std::string_view kBurstRuleId = "aws-discovery-cli-burst";
inline constexpr std::string_view kBurstRuleName =
    "AWS Discovery API Calls via CLI from a Single Identity";
inline constexpr int kBurstRiskScore = 21;
inline constexpr std::string_view kUnusualIpRuleId = "aws-discovery-unusual-source-ip";
inline constexpr std::string_view kUnusualIpRuleName =
    "AWS Discovery API Calls from an Unusual Source IP";
inline constexpr int kUnusualIpRiskScore = 21;
inline constexpr int kUnusualIpNewToAccountRiskScore = 47;
inline constexpr size_t kMaxAlertEventIds = 100;
inline constexpr size_t kMaxSampleEvents = 5;

inline std::string_view RuleId(Rule rule) {
  return rule == Rule::kBurst ? kBurstRuleId : kUnusualIpRuleId;
}

// The fields of one event that an alert records.
struct AlertEventFields {
  EventTime time = 0;
  std::string_view event_id;
  std::string_view action;
  std::string_view provider;
  std::string_view source_ip;
  std::string_view region;
  std::string_view user_agent;
  std::string_view access_key_id;
  std::string_view account;
};

// A compact copy of one event (Alert.sample_events).
struct SampleEvent {
  std::string action, provider, source_ip, region, user_agent, access_key_id, account;
};

struct Alert {
  Rule rule = Rule::kBurst;
  std::string alert_id;
  std::string tenant;
  std::string identity;
  std::string identity_type;
  std::string user_name;
  absl::btree_set<std::string> account_ids;
  absl::btree_set<std::string> access_key_ids;
  absl::btree_set<std::string> source_ips;
  absl::btree_set<std::string> regions;
  absl::btree_set<std::string> user_agents;
  absl::btree_set<std::string> providers;
  absl::btree_set<std::string> actions;
  // The earliest kMaxAlertEventIds events by (time, eventID); event_count counts all.
  absl::btree_set<std::pair<EventTime, std::string>> event_ids;
  int64_t event_count = 0;
  // The earliest kMaxSampleEvents events by (time, eventID).
  absl::btree_map<std::pair<EventTime, std::string>, SampleEvent> samples;
  EventTime first_event_time = 0;
  EventTime last_event_time = 0;
  EventTime window_start = 0;
  EventTime window_end = 0;
  int update_count = 0;
  std::string superseded_by;
  // window_start when the alert opened (its id derives from it); never changes,
  // so storage indexes alerts by it.
  EventTime opened_at = 0;
  // Unusual-source-IP rule only (spec §3).
  std::string network;
  bool new_to_account = false;
  EventTime baseline_since = 0;
  int known_network_count = 0;
  std::vector<std::string> recent_known_networks;

  void AddEvent(const AlertEventFields& e);
  // Takes in the events of an alert whose episode merged into this one.
  void Absorb(const Alert& other);
};

// An alert opened or updated by an event, copied out for the response.
struct AlertChange {
  bool is_new = false;
  Alert alert;
  // Engine-wide order of changes: of two changes of one alert, the later has the
  // higher sequence, whichever thread saw them first.
  uint64_t sequence = 0;
};

// "burst-" + 32 hex digits of a stable hash of (tenant, rule, identity,
// window_start): the same inputs give the same id in every process and version.
std::string MakeAlertId(std::string_view rule_id, std::string_view tenant,
                        std::string_view identity, EventTime window_start);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_ALERT_H_
