// Alerts as OCSF Detection Findings (class 2004): the classification, the
// lifecycle mapping, and where each CloudTrail field lands.
#include "server/engine/alert_ocsf.h"

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

namespace trailsentry::engine {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;
using google::protobuf::util::TimeUtil;

// The value at a dotted path ("finding_info.analytic.uid").
const Value& At(const Struct& s, const std::string& path) {
  const Struct* cur = &s;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    const std::string key = path.substr(start, dot - start);
    auto it = cur->fields().find(key);
    if (it == cur->fields().end()) {
      ADD_FAILURE() << "no " << path;
      static const Value kNone;
      return kNone;
    }
    if (dot == std::string::npos) return it->second;
    cur = &it->second.struct_value();
    start = dot + 1;
  }
}

v1::AlertChange UnusualIp() {
  v1::AlertChange c;
  c.set_kind(v1::AlertChange::NEW);
  c.set_sequence(42);
  v1::Alert& a = *c.mutable_alert();
  a.set_alert_id("unusual-ip-1");
  a.set_rule_id("aws-discovery-unusual-source-ip");
  a.set_rule_name("AWS Discovery API Calls from an Unusual Source IP");
  a.set_severity(v1::MEDIUM);
  a.set_risk_score(47);
  a.set_mitre_tactic("TA0007");
  a.add_mitre_techniques("T1087.004");
  a.add_mitre_techniques("T1078.004");
  a.set_tenant("acme");
  a.set_identity("arn:aws:iam::111122223333:user/alice");
  a.set_identity_type("IAMUser");
  a.set_user_name("alice");
  a.add_account_ids("111122223333");
  a.add_access_key_ids("AKIAEXAMPLE");
  a.add_source_ips("185.220.101.4");
  a.add_regions("us-east-1");
  a.add_actions("ListRoles");
  a.add_actions("ListUsers");
  a.add_event_ids("e1");
  a.set_event_count(2);
  a.set_network("185.220.101.4/32");
  a.set_new_to_account(true);
  a.set_reason("arn:aws:iam::111122223333:user/alice made 2 distinct discovery calls ...");
  a.set_link("https://soar.example/acme/unusual-ip-1");
  *a.mutable_first_event_time() = TimeUtil::MillisecondsToTimestamp(1773567000000);
  *a.mutable_last_event_time() = TimeUtil::MillisecondsToTimestamp(1773567001000);
  *a.mutable_created_at() = TimeUtil::MillisecondsToTimestamp(1795886766000);
  *a.mutable_updated_at() = TimeUtil::MillisecondsToTimestamp(1795886767000);
  a.set_status(v1::Alert::OPEN);
  return c;
}

TEST(AlertOcsf, AnAlertIsADetectionFindingWithItsCloudTrailFieldsMapped) {
  const Struct f = ToOcsf(UnusualIp());
  EXPECT_EQ(At(f, "class_uid").number_value(), 2004);
  EXPECT_EQ(At(f, "category_uid").number_value(), 2);
  EXPECT_EQ(At(f, "activity_id").number_value(), 1);
  EXPECT_EQ(At(f, "type_uid").number_value(), 200401);
  EXPECT_EQ(At(f, "severity_id").number_value(), 3);
  EXPECT_EQ(At(f, "severity").string_value(), "Medium");
  EXPECT_EQ(At(f, "status_id").number_value(), 1);
  EXPECT_EQ(At(f, "risk_score").number_value(), 47);
  EXPECT_EQ(At(f, "metadata.version").string_value(), "1.1.0");
  EXPECT_EQ(At(f, "metadata.uid").string_value(), "unusual-ip-1:42");
  EXPECT_EQ(At(f, "finding_info.uid").string_value(), "unusual-ip-1");
  EXPECT_EQ(At(f, "finding_info.analytic.uid").string_value(), "aws-discovery-unusual-source-ip");
  EXPECT_EQ(At(f, "finding_info.src_url").string_value(), "https://soar.example/acme/unusual-ip-1");
  EXPECT_EQ(At(f, "finding_info.created_time").number_value(), 1795886766000);
  EXPECT_EQ(At(f, "finding_info.first_seen_time").number_value(), 1773567000000);
  ASSERT_EQ(At(f, "finding_info.attacks").list_value().values_size(), 2);
  EXPECT_EQ(At(f, "finding_info.attacks")
                .list_value()
                .values(1)
                .struct_value()
                .fields()
                .at("technique")
                .struct_value()
                .fields()
                .at("uid")
                .string_value(),
            "T1078.004");
  EXPECT_EQ(At(f, "message").string_value(), UnusualIp().alert().reason());
  EXPECT_EQ(At(f, "cloud.provider").string_value(), "AWS");
  EXPECT_EQ(At(f, "cloud.region").string_value(), "us-east-1");
  EXPECT_EQ(At(f, "cloud.account.uid").string_value(), "111122223333");
  EXPECT_EQ(At(f, "actor.user.uid").string_value(), "arn:aws:iam::111122223333:user/alice");
  EXPECT_EQ(At(f, "actor.user.credential_uid").string_value(), "AKIAEXAMPLE");
  EXPECT_EQ(At(f, "src_endpoint.ip").string_value(), "185.220.101.4");
  EXPECT_EQ(At(f, "evidences").list_value().values_size(), 2);
  EXPECT_EQ(At(f, "start_time").number_value(), 1773567000000);
  EXPECT_EQ(At(f, "unmapped.network").string_value(), "185.220.101.4/32");
  EXPECT_TRUE(At(f, "unmapped.new_to_account").bool_value());
  EXPECT_EQ(At(f, "unmapped.tenant").string_value(), "acme");
  // One JSON object, readable back.
  Struct back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(OcsfJson(UnusualIp()), &back).ok());
  google::protobuf::util::MessageDifferencer diff;
  std::string report;
  diff.ReportDifferencesToString(&report);
  EXPECT_TRUE(diff.Compare(back, f)) << report;
}

TEST(AlertOcsf, TheLifecycleMapsToActivityAndStatus) {
  struct Case {
    v1::AlertChange::Kind kind;
    v1::Alert::Status status;
    v1::Alert::Disposition disposition;
    int activity, status_id;
  };
  for (const Case& c : std::vector<Case>{
           {v1::AlertChange::UPDATED, v1::Alert::OPEN, v1::Alert::DISPOSITION_UNSPECIFIED, 2, 1},
           {v1::AlertChange::TRIAGED, v1::Alert::ACKNOWLEDGED, v1::Alert::DISPOSITION_UNSPECIFIED,
            2, 2},
           {v1::AlertChange::TRIAGED, v1::Alert::RESOLVED, v1::Alert::TRUE_POSITIVE, 3, 4},
           {v1::AlertChange::TRIAGED, v1::Alert::RESOLVED, v1::Alert::FALSE_POSITIVE, 3, 3},
           {v1::AlertChange::TRIAGED, v1::Alert::RESOLVED, v1::Alert::BENIGN, 3, 3},
           // New events on a resolved alert: an update of a finding still resolved.
           {v1::AlertChange::UPDATED, v1::Alert::RESOLVED, v1::Alert::TRUE_POSITIVE, 2, 4},
       }) {
    v1::AlertChange change = UnusualIp();
    change.set_kind(c.kind);
    change.mutable_alert()->set_status(c.status);
    change.mutable_alert()->set_disposition(c.disposition);
    const Struct f = ToOcsf(change);
    EXPECT_EQ(At(f, "activity_id").number_value(), c.activity) << change.ShortDebugString();
    EXPECT_EQ(At(f, "type_uid").number_value(), 200400 + c.activity);
    EXPECT_EQ(At(f, "status_id").number_value(), c.status_id) << change.ShortDebugString();
  }
  // A looked-up alert is the finding as it is now.
  EXPECT_EQ(At(ToOcsf(UnusualIp().alert()), "activity_id").number_value(), 1);
}

}  // namespace
}  // namespace trailsentry::engine
