#include "server/engine/alert_ocsf.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>

#include <initializer_list>
#include <utility>

namespace trailsentry::engine {
namespace {

using google::protobuf::ListValue;
using google::protobuf::Struct;
using google::protobuf::Value;
using google::protobuf::util::TimeUtil;

constexpr char kOcsfVersion[] = "1.1.0";

Value Str(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}
Value Num(double n) {
  Value v;
  v.set_number_value(n);
  return v;
}
Value Obj(std::initializer_list<std::pair<const char*, Value>> fields) {
  Value v;
  v.mutable_struct_value();  // {} when empty, not a value of no kind
  for (const auto& [name, value] : fields)
    (*v.mutable_struct_value()->mutable_fields())[name] = value;
  return v;
}
Value List(std::vector<Value> items) {
  Value v;
  v.mutable_list_value();  // [] when empty
  for (Value& item : items) *v.mutable_list_value()->add_values() = std::move(item);
  return v;
}
Value Strings(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::vector<Value> out;
  for (const std::string& s : items) out.push_back(Str(s));
  return List(std::move(out));
}
// OCSF timestamps: milliseconds since the epoch.
Value Millis(const google::protobuf::Timestamp& t) {
  return Num(static_cast<double>(TimeUtil::TimestampToMilliseconds(t)));
}

int SeverityId(v1::Severity s) {
  switch (s) {
    case v1::LOW:
      return 2;
    case v1::MEDIUM:
      return 3;
    case v1::HIGH:
      return 4;
    default:
      return 0;
  }
}
const char* SeverityName(int id) {
  switch (id) {
    case 2:
      return "Low";
    case 3:
      return "Medium";
    case 4:
      return "High";
    default:
      return "Unknown";
  }
}

// New / In Progress / Suppressed (benign or false positive) / Resolved.
std::pair<int, const char*> Status(const v1::Alert& a) {
  switch (a.status()) {
    case v1::Alert::ACKNOWLEDGED:
      return {2, "In Progress"};
    case v1::Alert::RESOLVED:
      return a.disposition() == v1::Alert::TRUE_POSITIVE ? std::pair{4, "Resolved"}
                                                         : std::pair{3, "Suppressed"};
    default:
      return {1, "New"};
  }
}

// Create for NEW, Close for a triage that resolved it, Update otherwise.
std::pair<int, const char*> Activity(const v1::AlertChange& c) {
  if (c.kind() == v1::AlertChange::NEW) return {1, "Create"};
  if (c.kind() == v1::AlertChange::TRIAGED && c.alert().status() == v1::Alert::RESOLVED) {
    return {3, "Close"};
  }
  return {2, "Update"};
}

const char* TechniqueName(const std::string& uid) {
  if (uid == "T1087.004") return "Account Discovery: Cloud Account";
  if (uid == "T1526") return "Cloud Service Discovery";
  if (uid == "T1580") return "Cloud Infrastructure Discovery";
  if (uid == "T1078.004") return "Valid Accounts: Cloud Accounts";
  return "";
}

}  // namespace

Struct ToOcsf(const v1::AlertChange& change) {
  const v1::Alert& a = change.alert();
  const auto [activity_id, activity] = Activity(change);
  const auto [status_id, status] = Status(a);
  const int severity_id = SeverityId(a.severity());

  std::vector<Value> attacks;
  for (const std::string& t : a.mitre_techniques()) {
    attacks.push_back(
        Obj({{"tactic", Obj({{"uid", Str(a.mitre_tactic())}, {"name", Str("Discovery")}})},
             {"technique", Obj({{"uid", Str(t)}, {"name", Str(TechniqueName(t))}})},
             {"version", Str("14.1")}}));
  }
  Value finding_info = Obj({{"uid", Str(a.alert_id())},
                            {"title", Str(a.rule_name())},
                            {"desc", Str(a.reason())},
                            {"types", List({Str(a.rule_id())})},
                            {"first_seen_time", Millis(a.first_event_time())},
                            {"last_seen_time", Millis(a.last_event_time())},
                            {"analytic", Obj({{"uid", Str(a.rule_id())},
                                              {"name", Str(a.rule_name())},
                                              {"type_id", Num(1)},
                                              {"type", Str("Rule")}})},
                            {"attacks", List(std::move(attacks))}});
  Struct* info = finding_info.mutable_struct_value();
  if (a.has_created_at()) (*info->mutable_fields())["created_time"] = Millis(a.created_at());
  if (a.has_updated_at()) (*info->mutable_fields())["modified_time"] = Millis(a.updated_at());
  if (!a.link().empty()) (*info->mutable_fields())["src_url"] = Str(a.link());

  std::vector<Value> evidences;
  for (const std::string& action : a.actions()) {
    evidences.push_back(Obj({{"api", Obj({{"operation", Str(action)}})}}));
  }
  std::vector<Value> sources;
  for (const std::string& ip : a.source_ips()) sources.push_back(Obj({{"ip", Str(ip)}}));
  const std::string account = a.account_ids_size() > 0 ? a.account_ids(0) : "";
  Value user =
      Obj({{"uid", Str(a.identity())},
           {"name", Str(a.user_name())},
           {"type", Str(a.identity_type())},
           {"account",
            Obj({{"uid", Str(account)}, {"type_id", Num(10)}, {"type", Str("AWS Account")}})}});
  if (a.access_key_ids_size() > 0) {
    (*user.mutable_struct_value()->mutable_fields())["credential_uid"] = Str(a.access_key_ids(0));
  }
  Value unmapped = Obj({{"tenant", Str(a.tenant())},
                        {"account_ids", Strings(a.account_ids())},
                        {"access_key_ids", Strings(a.access_key_ids())},
                        {"source_ips", Strings(a.source_ips())},
                        {"regions", Strings(a.regions())},
                        {"user_agents", Strings(a.user_agents())},
                        {"providers", Strings(a.providers())},
                        {"event_ids", Strings(a.event_ids())},
                        {"event_count", Num(a.event_count())},
                        {"window_start", Millis(a.window_start())},
                        {"window_end", Millis(a.window_end())},
                        {"change_sequence", Str(std::to_string(change.sequence()))},
                        {"assignee", Str(a.assignee())},
                        {"disposition", Str(v1::Alert::Disposition_Name(a.disposition()))}});
  if (!a.network().empty()) {
    Struct* u = unmapped.mutable_struct_value();
    (*u->mutable_fields())["network"] = Str(a.network());
    (*u->mutable_fields())["new_to_account"] = Value();
    (*u->mutable_fields())["new_to_account"].set_bool_value(a.new_to_account());
    (*u->mutable_fields())["known_network_count"] = Num(a.known_network_count());
    (*u->mutable_fields())["recent_known_networks"] = Strings(a.recent_known_networks());
  }

  Value out = Obj({
      {"class_uid", Num(2004)},
      {"class_name", Str("Detection Finding")},
      {"category_uid", Num(2)},
      {"category_name", Str("Findings")},
      {"activity_id", Num(activity_id)},
      {"activity_name", Str(activity)},
      {"type_uid", Num(200400 + activity_id)},
      {"type_name", Str(std::string("Detection Finding: ") + activity)},
      {"severity_id", Num(severity_id)},
      {"severity", Str(SeverityName(severity_id))},
      {"status_id", Num(status_id)},
      {"status", Str(status)},
      {"time", Millis(a.has_updated_at() ? a.updated_at() : a.last_event_time())},
      {"start_time", Millis(a.first_event_time())},
      {"end_time", Millis(a.last_event_time())},
      {"message", Str(a.reason())},
      {"risk_score", Num(a.risk_score())},
      {"metadata", Obj({{"version", Str(kOcsfVersion)},
                        {"uid", Str(a.alert_id() + ":" + std::to_string(change.sequence()))},
                        {"profiles", List({Str("cloud")})},
                        {"product", Obj({{"name", Str("trailsentry")},
                                         {"vendor_name", Str("trailsentry")}})}})},
      {"finding_info", std::move(finding_info)},
      {"cloud",
       Obj({{"provider", Str("AWS")},
            {"region", Str(a.regions_size() > 0 ? a.regions(0) : "")},
            {"account",
             Obj({{"uid", Str(account)}, {"type_id", Num(10)}, {"type", Str("AWS Account")}})}})},
      {"actor", Obj({{"user", std::move(user)}})},
      {"src_endpoint", sources.empty() ? Obj({}) : sources[0]},
      {"evidences", List(std::move(evidences))},
      {"unmapped", std::move(unmapped)},
  });
  if (a.notes_size() > 0) {
    (*out.mutable_struct_value()->mutable_fields())["comment"] =
        Str(a.notes(a.notes_size() - 1).text());
  }
  return std::move(*out.mutable_struct_value());
}

std::string OcsfJson(const v1::AlertChange& change) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(ToOcsf(change), &json);
  return json;
}

namespace {
v1::AlertChange AsIs(const v1::Alert& alert) {
  v1::AlertChange change;
  change.set_kind(v1::AlertChange::NEW);
  *change.mutable_alert() = alert;
  change.set_sequence(alert.change_sequence());
  return change;
}
}  // namespace

google::protobuf::Struct ToOcsf(const v1::Alert& alert) { return ToOcsf(AsIs(alert)); }
std::string OcsfJson(const v1::Alert& alert) { return OcsfJson(AsIs(alert)); }

}  // namespace trailsentry::engine
