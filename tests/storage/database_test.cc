// storage::Database on a real RocksDB in a temp dir: round trips, key order,
// schema checks, alert history paging, the window log and expiry.
#include "storage/database.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "server/engine/account_baselines.h"
#include "storage/keys.h"
#include "tests/storage/database_fixture.h"

namespace trailsentry::testing {
namespace {

using engine::BaselineEntry;

constexpr engine::LogReach kReach{3600000, 3600000, 3600000};

TEST_F(DatabaseTest, BaselinesProfilesAndTrustRoundTrip) {
  storage::StateBatch batch(*db_);
  batch.PutProfile("default", "arn:a", {1000, 5000, 7});
  batch.PutBaseline("default", "arn:a", Net("203.0.113.7/32"), {1000, 4000, 5});
  batch.PutBaseline("default", "arn:a", Net("2001:db8:1:2::/64"), {2000, 5000, 2});
  batch.PutBaseline("default", "arn:ab", Net("198.51.100.1/32"), {1, 2, 1});  // prefix of "arn:a"?
  batch.PutBaseline("other", "arn:a", Net("198.51.100.2/32"), {1, 2, 1});     // another tenant
  batch.PutAccountBaseline("default", "111122223333", Net("203.0.113.7/32"), {900, 4000, 9});
  batch.PutTrusted("default", engine::TrustScope::kIdentity, "arn:a", {Net("192.0.2.0/24")});
  batch.PutTrusted("default", engine::TrustScope::kAccount, "111122223333",
                   {Net("10.0.0.0/8"), 86400000, 1234});
  ASSERT_TRUE(db_->Commit(batch).ok());
  Open();  // read back after a reopen

  auto stored = db_->LoadIdentity("default", "arn:a", kReach);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->profile.has_value());
  EXPECT_EQ(*stored->profile, (BaselineEntry{1000, 5000, 7}));
  ASSERT_EQ(stored->networks.size(), 2u);  // not "arn:ab"'s, not the other tenant's
  EXPECT_EQ(stored->networks[0].first.ToString(), "203.0.113.7/32");
  EXPECT_EQ(stored->networks[0].second, (BaselineEntry{1000, 4000, 5}));
  EXPECT_EQ(stored->networks[1].first.ToString(), "2001:db8:1:2::/64");
  ASSERT_EQ(stored->trusted.size(), 1u);
  EXPECT_EQ(stored->trusted[0].network.ToString(), "192.0.2.0/24");
  EXPECT_EQ(stored->trusted[0].until, engine::TrustedNetwork::kForever);
  EXPECT_EQ(db_->LoadAccountBaseline("default", "111122223333", Net("203.0.113.7/32")).value(),
            (BaselineEntry{900, 4000, 9}));
  EXPECT_EQ(
      db_->LoadAccountBaseline("default", "111122223333", Net("203.0.113.8/32")).value().count, 0);
  auto trusted = db_->LoadTrusted("default", engine::TrustScope::kAccount, "111122223333");
  ASSERT_EQ(trusted.value().size(), 1u);
  EXPECT_EQ((*trusted)[0].until, 86400000);
  EXPECT_EQ((*trusted)[0].added_at, 1234);
  EXPECT_FALSE(db_->LoadIdentity("default", "arn:unknown", kReach).value().profile.has_value());
}

TEST_F(DatabaseTest, KeysAreLengthPrefixedAndTimeOrdered) {
  // "a" + "b..." must not sort inside "ab"'s range, whatever the bytes.
  const std::string a = storage::keys::Identity("t", "a");
  const std::string ab = storage::keys::Identity("t", "ab");
  EXPECT_NE(ab.rfind(a, 0), 0u);
  EXPECT_LT(storage::keys::AlertByTime("t", 1000, "z"), storage::keys::AlertByTime("t", 2000, "a"));
  EXPECT_LT(storage::keys::AlertByTime("t", 1000, "a"), storage::keys::AlertByTime("t", 1000, "b"));
  size_t pos = 0;
  const std::string long_component(300, 'x');
  std::string k;
  storage::keys::AppendComponent(k, long_component);
  storage::keys::AppendComponent(k, "tail");
  EXPECT_EQ(*storage::keys::ReadComponent(k, pos), long_component);
  EXPECT_EQ(*storage::keys::ReadComponent(k, pos), "tail");
  EXPECT_FALSE(storage::keys::ReadComponent(k, pos).has_value());
  for (const char* cidr : {"203.0.113.0/24", "2001:db8::/32", "0.0.0.0/0", "::1/128"}) {
    EXPECT_EQ(storage::keys::ParseNetworkBytes(engine::NetworkBytes(Net(cidr)))->ToString(),
              Network::ParseCidr(cidr)->ToString());
  }
}

TEST_F(DatabaseTest, AlertsListNewestFirstFilteredAndPaged) {
  storage::StateBatch batch(*db_);
  for (int i = 0; i < 25; ++i) {
    batch.PutAlert(MakeAlert("burst-" + std::to_string(100 + i), i % 2 ? "arn:a" : "arn:b",
                             1000000 + i * 1000,
                             i % 5 == 0 ? engine::Rule::kUnusualSourceIp : engine::Rule::kBurst));
  }
  ASSERT_TRUE(db_->Commit(batch).ok());
  storage::AlertQuery q = Query("default", 10);
  auto page = db_->ListAlerts(q).value();
  ASSERT_EQ(page.alerts.size(), 10u);
  EXPECT_EQ(page.alerts[0].alert_id(), "burst-124");
  EXPECT_EQ(page.alerts[9].alert_id(), "burst-115");
  std::vector<std::string> all;
  for (;;) {
    for (const auto& a : page.alerts) all.push_back(a.alert_id());
    if (page.next_page_token.empty()) break;
    q.page_token = page.next_page_token;
    page = db_->ListAlerts(q).value();
  }
  EXPECT_EQ(all.size(), 25u);
  EXPECT_EQ(all.back(), "burst-100");
  // By identity, rule and time range.
  storage::AlertQuery by = Query("default");
  by.identity = "arn:a";
  EXPECT_EQ(db_->ListAlerts(by).value().alerts.size(), 12u);
  by.rule_id = std::string(engine::kUnusualIpRuleId);
  EXPECT_EQ(db_->ListAlerts(by).value().alerts.size(), 2u);  // i = 5, 15
  storage::AlertQuery range = Query("default");
  range.since = 1005000;
  range.until = 1010000;
  EXPECT_EQ(db_->ListAlerts(range).value().alerts.size(), 5u);
  storage::AlertQuery other = Query("other");
  EXPECT_TRUE(db_->ListAlerts(other).value().alerts.empty());
  storage::AlertQuery bad = Query("default");
  bad.page_token = "not-a-token!";
  EXPECT_EQ(db_->ListAlerts(bad).status().code(), absl::StatusCode::kInvalidArgument);
  // An update in place keeps one record and one index entry.
  storage::StateBatch update(*db_);
  engine::Alert a = MakeAlert("burst-124", "arn:b", 1024000);
  a.update_count = 3;
  update.PutAlert(a);
  ASSERT_TRUE(db_->Commit(update).ok());
  auto again = db_->ListAlerts(Query("default", 1)).value();
  EXPECT_EQ(again.alerts[0].update_count(), 3);
  EXPECT_EQ(db_->CountKeys("alerts"), 25u);
  EXPECT_EQ(db_->CountKeys("alerts_by_time"), 25u);
}

TEST_F(DatabaseTest, EventLogReturnsEachKindWithinReachAndOpenAlerts) {
  storage::StateBatch batch(*db_);
  const int64_t base = 1773567000000, minute = 60000;
  // Ten burst calls ten minutes apart, seen-only events every minute, and two
  // unusual-IP calls, one of them deleted again (pruned by the rule).
  for (int i = 0; i < 10; ++i) {
    const std::string id = "id-" + std::to_string(i);  // the fields only view it
    engine::AlertEventFields f{
        base + i * 10 * minute, id,          "ListUsers",      "iam.amazonaws.com",
        "198.51.100.7",         "us-east-1", "aws-cli/2.13.5", "AKIA",
        "111122223333"};
    batch.PutEvent("default", "arn:a",
                   {engine::LogKind::kBurst, f.time, uint64_t(100 + i), &f, "IAMUser", "alice"});
  }
  for (int i = 0; i <= 90; ++i) {
    batch.PutEvent("default", "arn:a", {engine::LogKind::kSeen, base + i * minute, uint64_t(i)});
  }
  engine::AlertEventFields u{base - 5 * 86400000LL, "u-1",       "ListRoles", "iam.amazonaws.com",
                             "203.0.113.9",         "us-east-1", "Boto3",     "AKIA",
                             "111122223333"};
  batch.PutEvent("default", "arn:a", {engine::LogKind::kUnusualIp, u.time, 7, &u, "IAMUser", ""});
  batch.PutEvent("default", "arn:a", {engine::LogKind::kUnusualIp, u.time + 1, 8, &u, "", ""});
  batch.DeleteEvent("default", "arn:a", engine::LogKind::kUnusualIp, u.time + 1, 8);
  batch.PutEvent("default", "arn:ab", {engine::LogKind::kSeen, base + 100 * minute, 1});
  batch.PutAlert(MakeAlert("burst-old", "arn:a", base - 86400000));
  batch.PutAlert(MakeAlert("burst-recent", "arn:a", base + 5 * 600000));
  ASSERT_TRUE(db_->Commit(batch).ok());
  Open();
  // Newest logged event: base + 90 min. Seen reach 30 min, burst reach 1 h.
  const engine::LogReach reach{30 * minute, 60 * minute, 60 * minute};
  auto state = db_->LoadIdentity("default", "arn:a", reach).value();
  EXPECT_EQ(state.newest_logged, base + 90 * minute);
  int seen = 0, burst = 0, unusual = 0;
  for (const engine::LoggedEvent& e : state.events) {
    if (e.kind == engine::LogKind::kSeen) ++seen;
    if (e.kind == engine::LogKind::kBurst) ++burst;
    if (e.kind == engine::LogKind::kUnusualIp) {
      ++unusual;
      EXPECT_EQ(e.id_hash, 7u);
      EXPECT_EQ(e.event_id, "u-1");
      EXPECT_EQ(e.source_ip, "203.0.113.9");
    }
  }
  EXPECT_EQ(seen, 31);    // base+60 .. base+90 min
  EXPECT_EQ(burst, 7);    // base+30 .. base+90 min
  EXPECT_EQ(unusual, 1);  // every stored one, however old; the deleted one is gone
  EXPECT_TRUE(std::is_sorted(state.events.begin(), state.events.end(),
                             [](const auto& a, const auto& b) { return a.time < b.time; }));
  ASSERT_EQ(state.open_alerts.size(), 1u);
  EXPECT_EQ(state.open_alerts[0].alert_id, "burst-recent");
  EXPECT_TRUE(db_->LoadIdentity("default", "arn:b", reach).value().events.empty());
}

// What a batch wrote of an identity before deleting it is dropped with it;
// what it writes after is kept. Other identities, even one whose name extends
// the deleted one's, and the account baseline are untouched.
TEST_F(DatabaseTest, DeletingAnIdentityInABatchKeepsOnlyWhatCameAfter) {
  const int64_t base = 1773567000000;
  {
    storage::StateBatch batch(*db_);
    batch.PutProfile("default", "arn:a", {base - 1000, base - 1000, 3});
    batch.PutBaseline("default", "arn:a", Net("203.0.113.1/32"), {base - 1000, base - 1000, 3});
    ASSERT_TRUE(db_->Commit(batch).ok());
  }
  storage::StateBatch batch(*db_);
  batch.PutProfile("default", "arn:a", {base - 1000, base, 4});
  batch.PutBaseline("default", "arn:a", Net("203.0.113.2/32"), {base, base, 1});
  batch.PutEvent("default", "arn:a", {engine::LogKind::kSeen, base, 1});
  batch.PutProfile("default", "arn:ab", {base, base, 1});
  batch.PutBaseline("default", "arn:ab", Net("203.0.113.2/32"), {base, base, 1});
  batch.PutEvent("default", "arn:ab", {engine::LogKind::kSeen, base, 2});
  batch.PutAccountBaseline("default", "111122223333", Net("203.0.113.2/32"), {base, base, 2});
  batch.DeleteIdentity("default", "arn:a");
  batch.PutBaseline("default", "arn:a", Net("198.51.100.9/32"), {base + 5, base + 5, 1});
  batch.PutEvent("default", "arn:a", {engine::LogKind::kSeen, base + 5, 3});
  ASSERT_TRUE(db_->Commit(batch).ok());
  Open();

  auto a = db_->LoadIdentity("default", "arn:a", kReach).value();
  EXPECT_FALSE(a.profile.has_value());
  ASSERT_EQ(a.networks.size(), 1u);
  EXPECT_EQ(a.networks[0].first.ToString(), "198.51.100.9/32");
  EXPECT_EQ(a.networks[0].second, (BaselineEntry{base + 5, base + 5, 1}));
  ASSERT_EQ(a.events.size(), 1u);
  EXPECT_EQ(a.events[0].id_hash, 3u);
  auto ab = db_->LoadIdentity("default", "arn:ab", kReach).value();
  EXPECT_EQ(ab.profile, (BaselineEntry{base, base, 1}));
  EXPECT_EQ(ab.networks.size(), 1u);
  EXPECT_EQ(ab.events.size(), 1u);
  EXPECT_EQ(db_->LoadAccountBaseline("default", "111122223333", Net("203.0.113.2/32")).value(),
            (BaselineEntry{base, base, 2}));
}

// Transactions reuse batches (issue 8: a batch like the last grows nothing):
// a batch given back uncommitted, or after its commit, comes back empty, and
// nothing of what it held before reaches the disk or its next commit's alerts.
TEST_F(DatabaseTest, ABatchGivenBackComesBackEmpty) {
  const int64_t base = 1773567000000;
  std::unique_ptr<storage::StateBatch> batch = db_->TakeBatch();
  storage::StateBatch* const first = batch.get();
  batch->PutProfile("default", "arn:abandoned", {base, base, 1});
  batch->PutBaseline("default", "arn:abandoned", Net("203.0.113.1/32"), {base, base, 1});
  batch->PutAccountBaseline("default", "111122223333", Net("203.0.113.1/32"), {base, base, 1});
  batch->PutEvent("default", "arn:abandoned", {engine::LogKind::kSeen, base, 1});
  batch->PutTrusted("default", engine::TrustScope::kIdentity, "arn:abandoned",
                    {Net("192.0.2.0/24")});
  batch->PutAlert(MakeAlert("abandoned-alert", "arn:abandoned", base));
  db_->GiveBackBatch(std::move(batch));  // uncommitted

  batch = db_->TakeBatch();
  EXPECT_EQ(batch.get(), first);  // reused, not a new one
  EXPECT_EQ(batch->writes(), 0u);
  EXPECT_EQ(batch->newest(), INT64_MIN);
  batch->PutProfile("default", "arn:kept", {base, base + 10, 2});
  batch->PutAlert(MakeAlert("kept-alert", "arn:kept", base + 10));
  ASSERT_TRUE(db_->Commit(*batch).ok());
  ASSERT_EQ(batch->committed_changes().size(), 1u);
  EXPECT_EQ(batch->committed_changes()[0].alert().alert_id(), "kept-alert");
  db_->GiveBackBatch(std::move(batch));

  batch = db_->TakeBatch();  // after a commit: no alerts of that commit left
  EXPECT_EQ(batch.get(), first);
  EXPECT_TRUE(batch->committed_changes().empty());
  batch->PutProfile("default", "arn:second", {base + 20, base + 20, 1});
  ASSERT_TRUE(db_->Commit(*batch).ok());
  EXPECT_TRUE(batch->committed_changes().empty());
  db_->GiveBackBatch(std::move(batch));
  Open();

  auto abandoned = db_->LoadIdentity("default", "arn:abandoned", kReach).value();
  EXPECT_FALSE(abandoned.profile.has_value());
  EXPECT_TRUE(abandoned.networks.empty());
  EXPECT_TRUE(abandoned.events.empty());
  EXPECT_TRUE(abandoned.trusted.empty());
  EXPECT_EQ(
      db_->LoadAccountBaseline("default", "111122223333", Net("203.0.113.1/32")).value().count, 0);
  EXPECT_EQ(db_->LoadIdentity("default", "arn:kept", kReach).value().profile,
            (BaselineEntry{base, base + 10, 2}));
  EXPECT_EQ(db_->LoadIdentity("default", "arn:second", kReach).value().profile,
            (BaselineEntry{base + 20, base + 20, 1}));
  auto alerts = db_->ListAlerts(Query("default"));
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  ASSERT_EQ(alerts->alerts.size(), 1u);
  EXPECT_EQ(alerts->alerts[0].alert_id(), "kept-alert");
}

// A process killed inside a write-ahead log append (kill -9, the OOM killer)
// can leave that last record cut short: its commit never returned, so nothing
// acknowledged is in it. The directory opens without it (it used to be refused
// as damaged until an operator ran `admin repair`: faults_e2e_test's kill -9
// loop met it under ASan); commits before it are all there.
TEST_F(DatabaseTest, ALastLogRecordCutShortByACrashIsDroppedAndTheRestKept) {
  const int64_t base = 1773567000000;
  {
    storage::StateBatch batch(*db_);
    batch.PutProfile("default", "arn:acknowledged", {base, base, 1});
    ASSERT_TRUE(db_->Commit(batch).ok());
  }
  {
    storage::StateBatch batch(*db_);
    batch.PutProfile("default", "arn:in-flight", {base, base, 1});
    for (int i = 0; i < 200; ++i) {
      batch.PutBaseline("default", "arn:in-flight",
                        Net(absl::StrCat("198.51.", i / 250, ".", i % 250, "/32").c_str()),
                        {base, base, 1});
    }
    ASSERT_TRUE(db_->Commit(batch).ok());
  }
  db_.reset();  // with the WAL on, nothing is flushed: the log holds both commits
  std::filesystem::path wal;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.path() + "/data")) {
    if (entry.path().extension() == ".log" &&
        (wal.empty() || entry.file_size() > std::filesystem::file_size(wal))) {
      wal = entry.path();
    }
  }
  ASSERT_FALSE(wal.empty());
  std::filesystem::resize_file(wal, std::filesystem::file_size(wal) - 100);  // the append cut

  Open();
  EXPECT_EQ(db_->LoadIdentity("default", "arn:acknowledged", kReach).value().profile,
            (BaselineEntry{base, base, 1}));
  auto cut = db_->LoadIdentity("default", "arn:in-flight", kReach).value();
  EXPECT_FALSE(cut.profile.has_value());
  EXPECT_TRUE(cut.networks.empty());
}

// Column families keyed by owner have Bloom filters of owners (issue 8):
// whether an owner's records are in the memtable, in flushed SST files or split
// between both, and whatever the owners' names share, reads find exactly that
// owner's records, and scans over every owner find them all.
TEST_F(DatabaseTest, OwnerFiltersNeverHideRecords) {
  const int64_t base = 1773567000000;
  // Names that are prefixes of one another, and of the next tenant's.
  std::vector<std::string> owners;
  for (int i = 0; i < 40; ++i) {
    owners.push_back("arn:aws:iam::111122223333:user/u" + std::to_string(i));
    owners.push_back("arn:aws:iam::111122223333:user/u" + std::to_string(i) + "x");
  }
  auto write = [&](int round) {
    storage::StateBatch batch(*db_);
    for (size_t i = 0; i < owners.size(); ++i) {
      if ((i + round) % 3 == 0) continue;  // each owner misses some rounds
      const std::string& o = owners[i];
      const int64_t t = base + round * 60000 + static_cast<int64_t>(i);
      batch.PutProfile("default", o, {base, t, round + 1});
      batch.PutBaseline("default", o, Net(absl::StrCat("198.51.", round, ".", i, "/32").c_str()),
                        {t, t, 1});
      batch.PutEvent("default", o, {engine::LogKind::kSeen, t, uint64_t(i * 10 + round)});
      batch.PutAlert(MakeAlert(absl::StrCat("a-", i, "-", round), o, t));
    }
    ASSERT_TRUE(db_->Commit(batch).ok());
  };
  // Round 0 compacted to the last level, round 1 flushed, round 2 in the memtable.
  write(0);
  ASSERT_TRUE(db_->CompactAll().ok());
  write(1);
  Open();  // the reopen flushes nothing, but replays round 1 from the log
  ASSERT_TRUE(db_->CompactAll().ok());
  write(2);

  size_t alerts = 0;
  for (size_t i = 0; i < owners.size(); ++i) {
    int rounds = 0;
    for (int r = 0; r < 3; ++r) rounds += (i + r) % 3 != 0;
    auto stored = db_->LoadIdentity("default", owners[i], kReach).value();
    EXPECT_EQ(stored.networks.size(), static_cast<size_t>(rounds)) << owners[i];
    EXPECT_EQ(stored.events.size(), static_cast<size_t>(rounds)) << owners[i];
    EXPECT_EQ(stored.open_alerts.size(), static_cast<size_t>(rounds)) << owners[i];
    ASSERT_TRUE(stored.profile.has_value()) << owners[i];
    storage::AlertQuery q = Query("default");
    q.identity = owners[i];
    EXPECT_EQ(db_->ListAlerts(q).value().alerts.size(), static_cast<size_t>(rounds)) << owners[i];
    alerts += rounds;
  }
  EXPECT_FALSE(db_->LoadIdentity("default", "arn:aws:iam::111122223333:user/u", kReach)
                   .value()
                   .profile.has_value());
  EXPECT_TRUE(db_->LoadIdentity("other", owners[1], kReach).value().networks.empty());
  EXPECT_EQ(db_->CountKeys("identity"), owners.size());
  EXPECT_EQ(db_->CountKeys("baseline"), 0u);  // schema 3: in the identity records
  EXPECT_EQ(db_->CountKeys("alerts_by_identity"), alerts);
}

// A column family's memtable is flushed at 4 MiB, long before all memtables
// together reach memtable_bytes (64 MiB): ~6 MiB of account baselines leave
// SST files (with 16 MiB memtables, as before, they stayed in the memtable),
// and the entries read back through the level-0 files and the memtable.
TEST_F(DatabaseTest, AColumnFamilysMemtableIsFlushedAtFourMiB) {
  ASSERT_EQ(config_.server.memtable_bytes, int64_t{64} << 20);
  constexpr int kBatches = 16, kPerBatch = 5000;
  auto network = [](int i) {
    return Net(
        absl::StrCat("10.", (i >> 16) & 255, ".", (i >> 8) & 255, ".", i & 255, "/32").c_str());
  };
  for (int b = 0; b < kBatches; ++b) {
    storage::StateBatch batch(*db_);
    for (int i = b * kPerBatch; i < (b + 1) * kPerBatch; ++i) {
      batch.PutAccountBaseline("default", "111122223333", network(i), {i, i + 1, 1});
    }
    ASSERT_TRUE(db_->Commit(batch).ok());
  }
  auto flushed = [&] {
    for (const auto& [cf, bytes] : db_->DiskUsage()) {
      if (cf == "account_baseline") return bytes;
    }
    return uint64_t{0};
  };
  // Flushes run in the background.
  for (int waited = 0; flushed() == 0 && waited < 200; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GT(flushed(), 0u);
  for (int i = 0; i < kBatches * kPerBatch; i += 97) {
    EXPECT_EQ(db_->LoadAccountBaseline("default", "111122223333", network(i)).value(),
              (BaselineEntry{i, i + 1, 1}))
        << i;
  }
}

// The WAL files' bytes in `dir` (RocksDB deletes them meanwhile: one gone
// counts nothing).
uint64_t WalBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    if (f.path().extension() != ".log") continue;
    const uintmax_t size = std::filesystem::file_size(f.path(), ec);
    if (!ec) total += size;
  }
  return total;
}

TEST_F(DatabaseTest, TheWalIsKeptUnderFourTimesMemtableBytes) {
  config_.server.memtable_bytes = int64_t{4} << 20;
  Open();
  const uint64_t cap = 4 * (uint64_t{4} << 20);
  // A column family written once and then never again pins every WAL file
  // since, until it is flushed.
  {
    storage::StateBatch batch(*db_);
    batch.PutAlert(MakeAlert("burst-1", "arn:aws:iam::111122223333:user/u", 1000));
    ASSERT_TRUE(db_->Commit(batch).ok());
  }
  constexpr int kPerBatch = 5000;
  int i = 0;
  while (WalBytes(dir_.path() + "/data") < 2 * cap && i < 1'100'000) {
    storage::StateBatch batch(*db_);
    for (const int end = i + kPerBatch; i < end; ++i) {
      batch.PutAccountBaseline(
          "default", absl::StrCat("1111222233", i % 100),
          Net(absl::StrCat("10.", (i >> 16) & 255, ".", (i >> 8) & 255, ".", i & 255, "/32")
                  .c_str()),
          {i, i + 1, 1});
    }
    ASSERT_TRUE(db_->Commit(batch).ok());
  }
  // Flushes run in the background: the WAL files they free go soon after.
  uint64_t wal = WalBytes(dir_.path() + "/data");
  for (int waited = 0; wal > cap + (cap / 2) && waited < 200; ++waited) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    wal = WalBytes(dir_.path() + "/data");
  }
  EXPECT_LE(wal, cap + cap / 2) << "after " << i << " account baselines";
  auto alert = db_->GetAlert("default", "burst-1");
  ASSERT_TRUE(alert.ok() && alert->has_value()) << alert.status();
  EXPECT_EQ((*alert)->alert_id(), "burst-1");
}

TEST_F(DatabaseTest, ExpiryDropsOnlyEntriesTooOldToMatter) {
  const int64_t day = 86400000, base = 1773567000000;
  storage::StateBatch batch(*db_);
  batch.PutBaseline("default", "arn:a", Net("203.0.113.7/32"), {base, base, 1});
  batch.PutBaseline("default", "arn:a", Net("203.0.113.8/32"), {base, base + 9 * day, 2});
  batch.PutProfile("default", "arn:b", {base, base + 20 * day, 5});  // moves the watermark
  // Seen events are kept max_lateness and a day behind the watermark: arn:c's
  // one goes, and with it arn:c's record, which held nothing else.
  batch.PutEvent("default", "arn:a", {engine::LogKind::kSeen, base + 19 * day + day / 2, 8});
  batch.PutEvent("default", "arn:c", {engine::LogKind::kSeen, base + 18 * day, 7});
  ASSERT_TRUE(db_->Commit(batch).ok());
  EXPECT_EQ(db_->watermark(), base + 20 * day);
  EXPECT_EQ(db_->CountKeys("identity"), 3u);
  ASSERT_TRUE(db_->CompactAll().ok());
  auto stored = db_->LoadIdentity("default", "arn:a", kReach).value();
  ASSERT_EQ(stored.networks.size(), 1u);  // 20 days old: gone; 11 days old: kept
  EXPECT_EQ(stored.networks[0].first.ToString(), "203.0.113.8/32");
  ASSERT_EQ(stored.events.size(), 1u);
  EXPECT_EQ(stored.events[0].id_hash, 8u);
  EXPECT_TRUE(db_->LoadIdentity("default", "arn:c", kReach).value().events.empty());
  EXPECT_EQ(db_->CountKeys("identity"), 2u);
  EXPECT_EQ(db_->CountKeys("event_log"), 0u);
  Open();
  EXPECT_EQ(db_->watermark(), base + 20 * day);  // persisted
}

TEST_F(DatabaseTest, RefusesForeignAndNewerDirectories) {
  TempDir foreign;
  std::ofstream(foreign.path() + "/notes.txt") << "hello";
  auto refused = storage::Database::Open({.path = foreign.path(), .config = &config_});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not a trailsentry data directory"), std::string::npos);

  // A database written by another schema (an unknown column family).
  TempDir newer;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, newer.path(), &raw).ok());
    rocksdb::ColumnFamilyHandle* h = nullptr;
    ASSERT_TRUE(
        raw->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "schema_v2_things", &h).ok());
    raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  refused = storage::Database::Open({.path = newer.path(), .config = &config_});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("schema_v2_things"), std::string::npos);

  // A plain RocksDB with our column families but no schema version.
  TempDir unversioned;
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, unversioned.path(), &raw).ok());
    delete raw;
  }
  refused = storage::Database::Open({.path = unversioned.path(), .config = &config_});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("schema version"), std::string::npos);

  // A directory in use by another open Database.
  auto second = storage::Database::Open({.path = dir_.path() + "/data", .config = &config_});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("in use"), std::string::npos) << second.status();
}

TEST_F(DatabaseTest, WrongSchemaVersionIsRefusedWithoutChangingIt) {
  db_.reset();
  {
    rocksdb::DBOptions o;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(o, dir_.path() + "/data", &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> d;
    for (const auto& n : names) d.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> hs;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.path() + "/data", d, &hs, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), hs[0], "schema_version", "0").ok());
    for (auto* h : hs) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  auto refused = storage::Database::Open({.path = dir_.path() + "/data", .config = &config_});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("schema version 0"), std::string::npos)
      << refused.status();
}

}  // namespace
}  // namespace trailsentry::testing
