// VerdictMerge: parts' answers back in the order of the whole.
#include "client/verdict_merge.h"

#include <gtest/gtest.h>

namespace trailsentry {
namespace {

v1::EvaluateResponse Answer(std::initializer_list<const char*> event_ids,
                            std::initializer_list<std::pair<const char*, bool>> alerts) {
  v1::EvaluateResponse r;
  for (const char* id : event_ids) {
    v1::Verdict* v = r.add_verdicts();
    v->set_index(r.verdicts_size() - 1);  // its place in the part, as a server sets it
    v->set_status(v1::Verdict::ACCEPTED);
    v->set_event_id(id);
  }
  for (const auto& [id, is_new] : alerts) {
    v1::AlertChange* c = r.add_alerts();
    c->set_kind(is_new ? v1::AlertChange::NEW : v1::AlertChange::UPDATED);
    c->mutable_alert()->set_alert_id(id);
    c->mutable_alert()->set_update_count(is_new ? 1 : 2);
  }
  return r;
}

TEST(VerdictMergeTest, PutsVerdictsInPlaceAndEachAlertOnceInItsLatestState) {
  v1::EvaluateResponse whole;
  VerdictMerge merge(&whole, 5);
  ASSERT_TRUE(merge.Add({0, 2, 4}, Answer({"a", "c", "e"}, {{"x", true}})).ok());
  ASSERT_TRUE(merge.Add({1, 3}, Answer({"b", "d"}, {{"y", true}})).ok());
  ASSERT_TRUE(merge.Add({}, Answer({}, {{"x", false}})).ok());  // x updated by a later part
  merge.Finish();
  ASSERT_EQ(whole.verdicts_size(), 5);
  const char* expected[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(whole.verdicts(i).event_id(), expected[i]);
    EXPECT_EQ(whole.verdicts(i).index(), i);  // its place in the whole
  }
  EXPECT_EQ(whole.accepted(), 5);
  EXPECT_EQ(whole.rejected(), 0);
  ASSERT_EQ(whole.alerts_size(), 2);
  EXPECT_EQ(whole.alerts(0).alert().alert_id(), "x");
  EXPECT_EQ(whole.alerts(0).alert().update_count(), 2);     // the latest state
  EXPECT_EQ(whole.alerts(0).kind(), v1::AlertChange::NEW);  // opened by this batch
  EXPECT_EQ(whole.alerts(1).alert().alert_id(), "y");
}

TEST(VerdictMergeTest, FailedPartsAreRejectedNamingWhy) {
  v1::EvaluateResponse whole;
  whole.add_verdicts()->set_status(v1::Verdict::ACCEPTED);  // answered here already
  whole.add_verdicts();                                     // to be filled
  whole.add_verdicts();
  VerdictMerge merge(&whole, 3);
  merge.Fail({1, 2}, "replica b:1: UNAVAILABLE");
  merge.Finish();
  EXPECT_EQ(whole.accepted(), 1);
  EXPECT_EQ(whole.rejected(), 2);
  EXPECT_EQ(whole.verdicts(2).reject_field(), "account");
  EXPECT_EQ(whole.verdicts(2).index(), 2);
  EXPECT_EQ(whole.verdicts(2).reject_reason(), "account: not evaluated: replica b:1: UNAVAILABLE");
}

TEST(VerdictMergeTest, AnAnswerOfTheWrongSizeIsAnError) {
  v1::EvaluateResponse whole;
  VerdictMerge merge(&whole, 2);
  EXPECT_EQ(merge.Add({0, 1}, Answer({"a"}, {})).code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace trailsentry
