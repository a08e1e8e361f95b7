// The alert change log and triage on a real RocksDB: sequences in commit order
// that survive restarts and pruning, triage merged into every read and never
// overwritten by new events, updated_since listings, delivery cursors.
#include <gtest/gtest.h>

#include <set>

#include "absl/time/clock.h"
#include "server/engine/alert_proto.h"
#include "tests/storage/database_fixture.h"

namespace trailsentry::testing {
namespace {

class AlertChangesTest : public DatabaseTest {
 protected:
  // Commits the alerts in one batch; returns what the change log took.
  std::vector<v1::AlertChange> Commit(const std::vector<engine::Alert>& alerts) {
    storage::StateBatch batch(*db_);
    for (const engine::Alert& a : alerts) batch.PutAlert(a);
    EXPECT_TRUE(db_->Commit(batch).ok());
    return batch.committed_changes();
  }
  std::vector<v1::AlertChange> ReadAll(int64_t after = 0, std::string_view tenant = "") {
    int64_t scanned = 0;
    return db_->ReadChanges(after, 1000, tenant, &scanned).value();
  }
  absl::StatusOr<v1::Alert> Triage(const std::string& id, v1::Alert::Status status,
                                   const std::string& assignee = "") {
    return db_->UpdateAlert("default", id, [&](const v1::Alert&, v1::Alert& triage) {
      triage.set_status(status);
      if (!assignee.empty()) triage.set_assignee(assignee);
      return absl::OkStatus();
    });
  }
  static int64_t Millis(const google::protobuf::Timestamp& t) { return engine::FromTimestamp(t); }
};

TEST_F(AlertChangesTest, EachAlertOfACommitIsLoggedOnceInSequence) {
  engine::Alert a = MakeAlert("burst-a", "arn:a", 1000);
  engine::Alert b = MakeAlert("burst-b", "arn:b", 2000);
  storage::StateBatch batch(*db_);
  batch.PutAlert(a);
  a.event_count = 3;  // changed again in the same batch: logged once, last state
  batch.PutAlert(a);
  batch.PutAlert(b);
  ASSERT_TRUE(db_->Commit(batch).ok());
  std::vector<v1::AlertChange> first = batch.committed_changes();
  ASSERT_EQ(first.size(), 2u);
  std::set<int64_t> sequences;
  for (const v1::AlertChange& c : first) {
    EXPECT_EQ(c.kind(), v1::AlertChange::NEW);
    EXPECT_EQ(c.alert().status(), v1::Alert::OPEN);
    EXPECT_EQ(c.alert().change_sequence(), c.sequence());
    EXPECT_EQ(Millis(c.alert().created_at()), Millis(c.alert().updated_at()));
    sequences.insert(c.sequence());
  }
  EXPECT_EQ(sequences, (std::set<int64_t>{1, 2}));

  a.event_count = 4;
  std::vector<v1::AlertChange> second = Commit({a});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].kind(), v1::AlertChange::UPDATED);
  EXPECT_EQ(second[0].sequence(), 3);
  EXPECT_EQ(second[0].alert().event_count(), 4);
  const v1::AlertChange& a_first = first[0].alert().alert_id() == "burst-a" ? first[0] : first[1];
  EXPECT_EQ(Millis(second[0].alert().created_at()), Millis(a_first.alert().created_at()));
  EXPECT_GE(Millis(second[0].alert().updated_at()), Millis(a_first.alert().updated_at()));

  // The log holds the three in order, and numbering goes on after a restart.
  std::vector<v1::AlertChange> log = ReadAll();
  ASSERT_EQ(log.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(log[i].sequence(), i + 1);
  EXPECT_EQ(log[0].alert().event_count(), log[0].alert().alert_id() == "burst-a" ? 3 : 2);
  Open();
  EXPECT_EQ(db_->change_range().last, 3);
  EXPECT_EQ(Commit({b})[0].sequence(), 4);
  // Nothing without alerts is logged.
  storage::StateBatch plain(*db_);
  plain.PutProfile("default", "arn:a", {1000, 2000, 2});
  ASSERT_TRUE(db_->Commit(plain).ok());
  EXPECT_TRUE(plain.committed_changes().empty());
  EXPECT_EQ(db_->change_range().last, 4);
}

TEST_F(AlertChangesTest, TriageIsMergedIntoReadsAndSurvivesNewEvents) {
  engine::Alert a = MakeAlert("burst-a", "arn:a", 1000);
  Commit({a});
  absl::StatusOr<v1::Alert> triaged = Triage("burst-a", v1::Alert::ACKNOWLEDGED, "bob");
  ASSERT_TRUE(triaged.ok()) << triaged.status();
  EXPECT_EQ(triaged->status(), v1::Alert::ACKNOWLEDGED);
  EXPECT_EQ(triaged->assignee(), "bob");
  EXPECT_EQ(triaged->change_sequence(), 2);
  EXPECT_EQ(triaged->event_count(), 2);  // the content is there too

  std::vector<v1::AlertChange> log = ReadAll();
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[1].kind(), v1::AlertChange::TRIAGED);
  EXPECT_EQ(log[1].alert().assignee(), "bob");

  // New events keep the triage; a reopen reads it back.
  a.event_count = 5;
  std::vector<v1::AlertChange> updated = Commit({a});
  ASSERT_EQ(updated.size(), 1u);
  EXPECT_EQ(updated[0].alert().status(), v1::Alert::ACKNOWLEDGED);
  EXPECT_EQ(updated[0].alert().assignee(), "bob");
  Open();
  std::optional<v1::Alert> read = db_->GetAlert("default", "burst-a").value();
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->status(), v1::Alert::ACKNOWLEDGED);
  EXPECT_EQ(read->event_count(), 5);
  EXPECT_EQ(read->change_sequence(), 3);

  // Unassigning clears, not keeps, the old value.
  absl::StatusOr<v1::Alert> cleared =
      db_->UpdateAlert("default", "burst-a", [](const v1::Alert&, v1::Alert& triage) {
        triage.clear_assignee();
        return absl::OkStatus();
      });
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->assignee(), "");
  EXPECT_EQ(db_->GetAlert("default", "burst-a").value()->assignee(), "");
}

TEST_F(AlertChangesTest, RefusedTriageWritesNothing) {
  Commit({MakeAlert("burst-a", "arn:a", 1000)});
  EXPECT_EQ(Triage("burst-nope", v1::Alert::RESOLVED).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<v1::Alert> refused =
      db_->UpdateAlert("default", "burst-a", [](const v1::Alert&, v1::Alert& triage) {
        triage.set_status(v1::Alert::RESOLVED);
        return absl::FailedPreconditionError("no");
      });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(db_->change_range().last, 1);
  EXPECT_EQ(db_->GetAlert("default", "burst-a").value()->status(), v1::Alert::OPEN);
  // Another tenant's alert is not found by this one.
  EXPECT_EQ(db_->UpdateAlert("other", "burst-a",
                             [](const v1::Alert&, v1::Alert&) { return absl::OkStatus(); })
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AlertChangesTest, UpdatedSinceListsEachChangedAlertOnceMostRecentFirst) {
  engine::Alert a = MakeAlert("burst-a", "arn:a", 1000);
  engine::Alert b = MakeAlert("burst-b", "arn:b", 2000);
  engine::Alert c = MakeAlert("burst-c", "arn:c", 3000);
  Commit({a});
  Commit({b});
  Commit({c});
  a.event_count = 9;
  Commit({a});                                               // a changed last but one
  ASSERT_TRUE(Triage("burst-b", v1::Alert::RESOLVED).ok());  // b last

  storage::ChangedAlertQuery q;
  q.tenant = "default";
  q.page_size = 1;
  std::vector<std::string> seen;
  for (;;) {
    storage::AlertPage page = db_->ListChangedAlerts(q).value();
    for (const v1::Alert& alert : page.alerts) seen.push_back(alert.alert_id());
    if (page.next_page_token.empty()) break;
    q.page_token = page.next_page_token;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"burst-b", "burst-a", "burst-c"}));

  q.page_token.clear();
  q.page_size = 100;
  q.status = v1::Alert::OPEN;
  storage::AlertPage open = db_->ListChangedAlerts(q).value();
  ASSERT_EQ(open.alerts.size(), 2u);
  EXPECT_EQ(open.alerts[0].alert_id(), "burst-a");
  q.status = v1::Alert::STATUS_UNSPECIFIED;
  q.tenant = "other";
  EXPECT_TRUE(db_->ListChangedAlerts(q).value().alerts.empty());
  q.tenant = "default";
  q.updated_since = absl::ToUnixMillis(absl::Now()) + 60000;  // nothing that late
  EXPECT_TRUE(db_->ListChangedAlerts(q).value().alerts.empty());
  q.page_token = "bm9wZQ";
  EXPECT_EQ(db_->ListChangedAlerts(q).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AlertChangesTest, PruningDropsOldChangesAndNumberingGoesOn) {
  Commit({MakeAlert("burst-a", "arn:a", 1000)});
  Commit({MakeAlert("burst-b", "arn:b", 2000)});
  const int64_t now = absl::ToUnixMillis(absl::Now());
  EXPECT_EQ(db_->PruneChanges(now, absl::Hours(1)).value(), 0);  // all recent
  EXPECT_EQ(db_->PruneChanges(now + 7200000, absl::Hours(1)).value(), 2);
  storage::ChangeRange range = db_->change_range();
  EXPECT_EQ(range.first, 3);
  EXPECT_EQ(range.last, 2);
  EXPECT_TRUE(ReadAll().empty());
  Open();  // the sequence is kept even with the log empty
  EXPECT_EQ(db_->change_range().last, 2);
  EXPECT_EQ(Commit({MakeAlert("burst-c", "arn:c", 3000)})[0].sequence(), 3);
  // A listing from before what the log keeps is refused, not silently short.
  storage::ChangedAlertQuery q;
  q.tenant = "default";
  q.updated_since = 0;
  EXPECT_EQ(db_->ListChangedAlerts(q).status().code(), absl::StatusCode::kOutOfRange);
  // The alerts themselves stay in history.
  EXPECT_TRUE(db_->GetAlert("default", "burst-a").value().has_value());
}

TEST_F(AlertChangesTest, ReadsSkipOtherTenantsAndReportHowFarTheyRead) {
  engine::Alert a = MakeAlert("burst-a", "arn:a", 1000);
  engine::Alert other = MakeAlert("burst-o", "arn:o", 1000);
  other.tenant = "other";
  Commit({a});
  Commit({other});
  Commit({other});
  int64_t scanned = 0;
  std::vector<v1::AlertChange> mine = db_->ReadChanges(0, 10, "default", &scanned).value();
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(scanned, 3);  // past the other tenant's changes
  EXPECT_EQ(ReadAll(1, "other").size(), 2u);
  std::vector<v1::AlertChange> limited = db_->ReadChanges(0, 2, "", &scanned).value();
  EXPECT_EQ(limited.size(), 2u);
  EXPECT_EQ(scanned, 2);
}

TEST_F(AlertChangesTest, CursorsAreKeptAcrossRestarts) {
  EXPECT_FALSE(db_->ReadCursor("webhook/soar").value().has_value());
  ASSERT_TRUE(db_->WriteCursor("webhook/soar", 42).ok());
  Open();
  EXPECT_EQ(db_->ReadCursor("webhook/soar").value(), std::optional<int64_t>(42));
}

TEST_F(AlertChangesTest, WaitersAndListenersHearOfEachCommit) {
  std::atomic<int64_t> heard{0};
  const int id = db_->AddChangeListener([&](int64_t last) { heard = last; });
  EXPECT_FALSE(db_->WaitForChanges(0, absl::Milliseconds(10)));
  Commit({MakeAlert("burst-a", "arn:a", 1000)});
  EXPECT_TRUE(db_->WaitForChanges(0, absl::Milliseconds(10)));
  EXPECT_EQ(heard.load(), 1);
  db_->RemoveChangeListener(id);
  Commit({MakeAlert("burst-b", "arn:b", 1000)});
  EXPECT_EQ(heard.load(), 1);
}

}  // namespace
}  // namespace trailsentry::testing
