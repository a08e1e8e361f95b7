// Write-behind (Database::Options::write_behind) on a real RocksDB in a temp
// dir: whatever the moment the journal is applied, and whatever the moment the
// process dies (a copy of the directory taken while it is open), the state read
// back is the state of committing each batch directly, in order.
#include <gtest/gtest.h>
#include <rocksdb/env.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/database.h"
#include "tests/storage/database_fixture.h"
#include "tests/testing/temp_dir.h"

namespace trailsentry::testing {
namespace {

using engine::BaselineEntry;

constexpr engine::LogReach kReach{INT64_MAX / 4, INT64_MAX / 4, INT64_MAX / 4};
constexpr int64_t kBase = 1773567000000;
const char* const kNets[] = {"203.0.113.1/32", "203.0.113.2/32", "198.51.100.0/24",
                             "2001:db8::/64"};

std::string IdentityOf(int i) { return absl::StrCat("arn:aws:iam::111122223333:user/u", i); }
std::string AccountOf(int i) { return absl::StrCat("11112222333", i); }

// A batch's writes, random over a few identities, accounts and networks.
void FillRandom(storage::StateBatch& batch, std::mt19937& rng, int64_t& clock) {
  const int ops = 1 + static_cast<int>(rng() % 8);
  for (int k = 0; k < ops; ++k) {
    clock += rng() % 5000;
    const std::string id = IdentityOf(static_cast<int>(rng() % 5));
    const Network net = Net(kNets[rng() % 4]);
    const BaselineEntry e{clock - static_cast<int64_t>(rng() % 100000), clock,
                          1 + static_cast<int64_t>(rng() % 50)};
    switch (rng() % 10) {
      case 0:
      case 1:
        batch.PutProfile("default", id, e);
        break;
      case 2:
      case 3:
        batch.PutBaseline("default", id, net, e);
        break;
      case 4:
        batch.PutAccountBaseline("default", AccountOf(static_cast<int>(rng() % 3)), net, e);
        break;
      case 5:
      case 6:
        batch.PutEvent("default", id, {engine::LogKind::kSeen, clock, rng() % 1000});
        break;
      case 7:
        batch.PutTrusted("default",
                         rng() % 2 ? engine::TrustScope::kIdentity : engine::TrustScope::kAccount,
                         rng() % 2 ? id : AccountOf(0), {net, clock + 86400000, 7});
        break;
      case 8:
        batch.DeleteTrusted("default", engine::TrustScope::kIdentity, id, net);
        break;
      default:
        if (rng() % 3 == 0) batch.DeleteIdentity("default", id);
        break;
    }
  }
}

// Everything the generated keys can hold, as text.
std::string Dump(storage::Database& db) {
  std::string out;
  for (int i = 0; i < 5; ++i) {
    auto s = db.LoadIdentity("default", IdentityOf(i), kReach);
    EXPECT_TRUE(s.ok()) << s.status();
    if (!s.ok()) return out;
    absl::StrAppend(&out, IdentityOf(i), ":");
    if (s->profile) {
      absl::StrAppend(&out, " profile ", s->profile->first_seen, "-", s->profile->last_seen, "x",
                      s->profile->count);
    }
    for (const auto& [n, e] : s->networks) {
      absl::StrAppend(&out, " ", n.ToString(), "=", e.first_seen, "-", e.last_seen, "x", e.count);
    }
    for (const auto& t : s->trusted) absl::StrAppend(&out, " trusted ", t.network.ToString());
    for (const auto& e : s->events) absl::StrAppend(&out, " seen ", e.time, "#", e.id_hash);
    absl::StrAppend(&out, "\n");
  }
  for (int a = 0; a < 3; ++a) {
    for (const char* n : kNets) {
      auto e = db.LoadAccountBaseline("default", AccountOf(a), Net(n));
      EXPECT_TRUE(e.ok()) << e.status();
      if (e.ok() && e->count > 0) {
        absl::StrAppend(&out, AccountOf(a), " ", n, "=", e->first_seen, "-", e->last_seen, "x",
                        e->count, "\n");
      }
    }
    auto t = db.LoadTrusted("default", engine::TrustScope::kAccount, AccountOf(a));
    EXPECT_TRUE(t.ok()) << t.status();
    if (t.ok()) {
      for (const auto& x : *t)
        absl::StrAppend(&out, AccountOf(a), " trusted ", x.network.ToString(), "\n");
    }
  }
  return out;
}

std::unique_ptr<storage::Database> OpenAt(const std::string& path, const engine::Config& config,
                                          bool write_behind) {
  return storage::Database::Open({.path = path,
                                  .config = &config,
                                  .write_behind = write_behind,
                                  .apply_every = absl::Hours(1)})
      .value();
}

TEST(WriteBehind, AppliedOrReplayedAfterACrashTheStateIsThatOfDirectCommits) {
  engine::Config config;
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    std::mt19937 rng(seed);
    TempDir dir;
    auto direct = OpenAt(dir.path() + "/direct", config, false);
    auto behind = OpenAt(dir.path() + "/behind", config, true);
    int64_t clock = kBase;
    const int batches = 20 + static_cast<int>(rng() % 40);
    const int crash_at = static_cast<int>(rng() % batches);
    std::string at_crash;
    for (int b = 0; b < batches; ++b) {
      std::mt19937 same = rng;  // both databases get the same writes
      int64_t c1 = clock, c2 = clock;
      storage::StateBatch x(*direct), y(*behind);
      FillRandom(x, rng, c1);
      FillRandom(y, same, c2);
      clock = c1;
      ASSERT_TRUE(direct->Commit(x).ok());
      ASSERT_TRUE(behind->Commit(y).ok());
      if (rng() % 5 == 0) {
        ASSERT_TRUE(behind->ApplyJournal().ok());
      }
      if (b == crash_at) {
        // What a kill -9 now leaves: the journal, partly applied or not.
        std::filesystem::copy(dir.path() + "/behind", dir.path() + "/crashed",
                              std::filesystem::copy_options::recursive);
        at_crash = Dump(*direct);
      }
    }
    std::string want = Dump(*direct);
    // (Reads of the database alone see only what is applied: the engine keeps
    // what is not, see ReadsThatBypassTheEngine below.)
    ASSERT_TRUE(behind->ApplyJournal().ok());
    EXPECT_EQ(Dump(*behind), want) << "applied";
    storage::StateBatch last(*behind);
    last.PutProfile("default", IdentityOf(0), {kBase, clock + 1, 99});
    ASSERT_TRUE(behind->Commit(last).ok());
    behind.reset();  // a clean stop applies what is left
    storage::StateBatch same(*direct);
    same.PutProfile("default", IdentityOf(0), {kBase, clock + 1, 99});
    ASSERT_TRUE(direct->Commit(same).ok());
    want = Dump(*direct);
    EXPECT_EQ(Dump(*OpenAt(dir.path() + "/behind", config, false)), want) << "after a clean stop";
    EXPECT_EQ(Dump(*OpenAt(dir.path() + "/crashed", config, false)), at_crash)
        << "after a crash at batch " << crash_at << " (the journal replayed)";
  }
}

TEST(WriteBehind, ACrashMidApplyReplaysTheWholeJournalToTheSameState) {
  // An apply writes in chunks and deletes the journal last: a crash between
  // chunks leaves some keys applied and the whole journal, which replays over
  // them. Copying the directory while an apply of many keys runs on another
  // thread catches it at some point of the way.
  engine::Config config;
  TempDir dir;
  auto direct = OpenAt(dir.path() + "/direct", config, false);
  auto behind = OpenAt(dir.path() + "/behind", config, true);
  for (int b = 0; b < 40; ++b) {
    storage::StateBatch x(*direct), y(*behind);
    for (int i = 0; i < 200; ++i) {
      const std::string id = absl::StrCat("arn:aws:iam::111122223333:user/many", b * 200 + i);
      x.PutProfile("default", id, {kBase, kBase + b, b + 1});
      y.PutProfile("default", id, {kBase, kBase + b, b + 1});
    }
    ASSERT_TRUE(direct->Commit(x).ok());
    ASSERT_TRUE(behind->Commit(y).ok());
  }
  std::thread apply([&] { EXPECT_TRUE(behind->ApplyJournal().ok()); });
  std::filesystem::copy(dir.path() + "/behind", dir.path() + "/crashed",
                        std::filesystem::copy_options::recursive);
  apply.join();
  auto crashed = OpenAt(dir.path() + "/crashed", config, false);
  for (int n = 0; n < 8000; n += 37) {
    const std::string id = absl::StrCat("arn:aws:iam::111122223333:user/many", n);
    EXPECT_EQ(crashed->LoadIdentity("default", id, kReach).value().profile,
              direct->LoadIdentity("default", id, kReach).value().profile)
        << id;
  }
  EXPECT_EQ(crashed->CountKeys("journal"), 0u) << "replayed and deleted";
}

TEST(WriteBehind, ReadsThatBypassTheEngineSeeCommitsNotYetApplied) {
  engine::Config config;
  TempDir dir;
  auto db = OpenAt(dir.path() + "/data", config, true);
  storage::StateBatch batch(*db);
  batch.PutAccountBaseline("default", "111122223333", Net("203.0.113.1/32"), {kBase, kBase, 1});
  batch.PutProfile("default", "arn:a", {kBase, kBase, 1});
  ASSERT_TRUE(db->Commit(batch).ok());
  EXPECT_EQ(db->AppliedBelow(), batch.epoch()) << "the engine must keep what it changed";
  EXPECT_EQ(db->CountKeys("account_baseline"), 1u);
  EXPECT_EQ(db->CountKeys("identity"), 1u);
  EXPECT_EQ(db->AppliedBelow(), UINT64_MAX) << "applied: nothing held back";
}

double Gauge(storage::Database& db, std::string_view name) {
  for (const auto& [n, v] : db.Gauges()) {
    if (n == name) return v;
  }
  ADD_FAILURE() << "no gauge " << name;
  return -1;
}

TEST(WriteBehind, GaugesTellHowFarTheJournalIsBehind) {
  engine::Config config;
  TempDir dir;
  auto db = OpenAt(dir.path() + "/data", config, true);
  EXPECT_EQ(Gauge(*db, "trailsentry_journal_unapplied_commits"), 0);
  for (int i = 0; i < 3; ++i) {
    storage::StateBatch batch(*db);
    batch.PutProfile("default", IdentityOf(i), {kBase, kBase + i, 1});
    batch.PutAccountBaseline("default", AccountOf(0), Net(kNets[i]), {kBase, kBase, 1});
    ASSERT_TRUE(db->Commit(batch).ok());
  }
  EXPECT_EQ(Gauge(*db, "trailsentry_journal_unapplied_commits"), 3);
  EXPECT_EQ(Gauge(*db, "trailsentry_journal_last_apply_keys"), 0) << "nothing applied yet";
  ASSERT_EQ(db->CountKeys("identity"), 3u);  // applies the journal
  EXPECT_EQ(Gauge(*db, "trailsentry_journal_unapplied_commits"), 0);
  // 3 identity records, 3 account baselines, the watermark.
  EXPECT_EQ(Gauge(*db, "trailsentry_journal_last_apply_keys"), 7);
  EXPECT_GE(Gauge(*db, "trailsentry_journal_last_apply_seconds"), 0);

  auto direct = OpenAt(dir.path() + "/direct", config, false);
  for (const auto& [n, v] : direct->Gauges()) {
    EXPECT_EQ(n.find("journal"), std::string::npos) << n << ": no journal without write-behind";
  }
}

// RocksDB's files as on a disk that fills when `full` is set: every append
// after that fails with "No space left on device".
class FillingEnv final : public rocksdb::EnvWrapper {
 public:
  FillingEnv() : rocksdb::EnvWrapper(rocksdb::Env::Default()) {}
  const char* Name() const override { return "FillingEnv"; }
  std::atomic<bool> full{false};

  rocksdb::Status NewWritableFile(const std::string& name,
                                  std::unique_ptr<rocksdb::WritableFile>* result,
                                  const rocksdb::EnvOptions& options) override {
    std::unique_ptr<rocksdb::WritableFile> file;
    rocksdb::Status s = target()->NewWritableFile(name, &file, options);
    if (s.ok()) *result = std::make_unique<File>(std::move(file), full);
    return s;
  }

 private:
  class File final : public rocksdb::WritableFileWrapper {
   public:
    File(std::unique_ptr<rocksdb::WritableFile> file, const std::atomic<bool>& full)
        : rocksdb::WritableFileWrapper(file.get()), file_(std::move(file)), full_(full) {}
    rocksdb::Status Append(const rocksdb::Slice& data) override {
      return full_ ? rocksdb::Status::NoSpace("No space left on device") : file_->Append(data);
    }
    rocksdb::Status Append(const rocksdb::Slice& data,
                           const rocksdb::DataVerificationInfo& info) override {
      return full_ ? rocksdb::Status::NoSpace("No space left on device")
                   : file_->Append(data, info);
    }

   private:
    std::unique_ptr<rocksdb::WritableFile> file_;
    const std::atomic<bool>& full_;
  };
};

TEST(WriteBehind, WhileWritesAreRefusedReadsFailFastAndTheStateComesBackWithRoom) {
  // A full disk with many commits not applied yet: every read of a dropped
  // cache must be answered UNAVAILABLE at once (not after sorting what is
  // pending, which took the server's requests seconds each), and once there is
  // room the journal is applied and every commit is there.
  engine::Config config;
  config.server.disk_reserve_bytes = 0;  // RocksDB itself hits the full disk
  TempDir dir;
  FillingEnv env;
  auto db = storage::Database::Open({.path = dir.path() + "/data",
                                     .config = &config,
                                     .write_behind = true,
                                     .apply_every = absl::Hours(1),
                                     .env = &env})
                .value();
  constexpr int kCommits = 100, kKeys = 1000;
  for (int c = 0; c < kCommits; ++c) {
    storage::StateBatch batch(*db);
    for (int k = 0; k < kKeys; ++k) {
      batch.PutProfile("default", IdentityOf(c * kKeys + k), {kBase, kBase + c, 1 + k});
    }
    ASSERT_TRUE(db->Commit(batch).ok());
  }
  env.full = true;
  storage::StateBatch more(*db);
  more.PutProfile("default", IdentityOf(-1), {kBase, kBase, 1});
  const absl::Status refused = db->Commit(more);
  ASSERT_EQ(refused.code(), absl::StatusCode::kUnavailable) << refused;
  EXPECT_NE(refused.message().find("No space left"), std::string::npos) << refused;

  db->ReadingBack();  // what the engine does after a failed commit
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    auto read = db->LoadIdentity("default", IdentityOf(i), kReach);
    ASSERT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << read.status();
  }
  // 1000 reads against 100,000 pending keys: well under 1 s now, 31 s
  // (Release) when each one sorted the pending set.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));

  env.full = false;
  absl::Status healthy;
  for (int i = 0; i < 100; ++i) {  // Resume() is tried at most once a second
    healthy = db->Healthy();
    if (healthy.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(healthy.ok()) << healthy;
  for (int c = 0; c < kCommits; c += 7) {
    for (int k = 0; k < kKeys; k += 97) {
      auto read = db->LoadIdentity("default", IdentityOf(c * kKeys + k), kReach);
      ASSERT_TRUE(read.ok()) << read.status();
      ASSERT_TRUE(read->profile.has_value()) << IdentityOf(c * kKeys + k);
      EXPECT_EQ(*read->profile, (BaselineEntry{kBase, kBase + c, 1 + k}));
    }
  }
  EXPECT_EQ(db->CountKeys("identity"), size_t{kCommits * kKeys});
  EXPECT_EQ(Gauge(*db, "trailsentry_journal_unapplied_commits"), 0);
}

TEST(WriteBehind, ADirectoryWithAJournalOpensWithoutWriteBehindReplayed) {
  // `trailsentry scan` or `admin` on the directory of a server that crashed.
  engine::Config config;
  TempDir dir;
  auto db = OpenAt(dir.path() + "/data", config, true);
  storage::StateBatch batch(*db);
  batch.PutProfile("default", "arn:a", {kBase, kBase + 5, 3});
  ASSERT_TRUE(db->Commit(batch).ok());
  std::filesystem::copy(dir.path() + "/data", dir.path() + "/crashed",
                        std::filesystem::copy_options::recursive);
  auto crashed = OpenAt(dir.path() + "/crashed", config, false);
  EXPECT_EQ(crashed->LoadIdentity("default", "arn:a", kReach).value().profile,
            (BaselineEntry{kBase, kBase + 5, 3}));
}

}  // namespace
}  // namespace trailsentry::testing
