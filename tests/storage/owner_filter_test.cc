// OwnerFilter (storage/internal/owner_filter.h): never "absent" for an owner
// added, rarely "maybe" for one that was not; and a Database opened on a fresh
// directory, where the filter answers loads, gives back every kind of state
// written through each write path without a reopen, and answers an account's
// unwritten network (the key filter) without a read.
#include "storage/internal/owner_filter.h"

#include <gtest/gtest.h>
#include <rocksdb/perf_context.h>
#include <rocksdb/perf_level.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/keys.h"
#include "tests/storage/database_fixture.h"

namespace trailsentry::testing {
namespace {

constexpr engine::LogReach kReach{3600000, 3600000, 3600000};
constexpr int64_t kBase = 1773567000000;

std::string Owner(int i) {
  return storage::keys::Identity("default", absl::StrCat("arn:aws:iam::111122223333:user/u", i));
}

TEST(OwnerFilterTest, AnOwnerAddedIsNeverAbsentAndFewOthersMayBe) {
  storage::internal::OwnerFilter filter;
  constexpr int kAdded = 1000000;
  // Two threads add at once, as two engine threads' commits can.
  std::thread other([&] {
    for (int i = 1; i < kAdded; i += 2) filter.Add(Owner(i));
  });
  for (int i = 0; i < kAdded; i += 2) filter.Add(Owner(i));
  other.join();
  for (int i = 0; i < kAdded; ++i) ASSERT_TRUE(filter.MayContain(Owner(i))) << i;
  int maybe = 0;
  for (int i = kAdded; i < 2 * kAdded; ++i) maybe += filter.MayContain(Owner(i));
  // ~67 bits per owner here: a false "maybe" is far below 1%.
  EXPECT_LT(maybe, kAdded / 1000) << maybe;
  EXPECT_FALSE(storage::internal::OwnerFilter().MayContain(Owner(0)));
}

// A fresh directory answers an account baseline never written from the key
// filter, with no RocksDB read, even when its account has other networks
// stored; after a reopen (the directory holds state) RocksDB is read.
TEST_F(DatabaseTest, AnAccountsUnwrittenNetworkIsAnsweredWithoutARead) {
  storage::StateBatch batch(*db_);
  batch.PutAccountBaseline("default", "111122223333", Net("198.51.100.7/32"), {kBase, kBase, 3});
  ASSERT_TRUE(db_->Commit(batch).ok());
  const auto reads = [&](const char* network, int expected_count) {
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kEnableCount);
    rocksdb::get_perf_context()->Reset();
    EXPECT_EQ(db_->LoadAccountBaseline("default", "111122223333", Net(network)).value().count,
              expected_count)
        << network;
    // A Get looks in the memtable, or in the SST files (their Bloom filters).
    const rocksdb::PerfContext& perf = *rocksdb::get_perf_context();
    const uint64_t n =
        perf.get_from_memtable_count + perf.bloom_sst_hit_count + perf.bloom_sst_miss_count;
    rocksdb::SetPerfLevel(rocksdb::PerfLevel::kDisable);
    return n;
  };
  EXPECT_GT(reads("198.51.100.7/32", 3), 0u);
  EXPECT_EQ(reads("198.51.100.8/32", 0), 0u);
  EXPECT_EQ(reads("198.51.100.6/31", 0), 0u);
  Open();
  EXPECT_GT(reads("198.51.100.8/32", 0), 0u);
  EXPECT_GT(reads("198.51.100.7/32", 3), 0u);
}

// Each kind of state alone on an owner, in a fresh directory, read back in the
// same process (the filter answers) and after a reopen (it does not: the
// directory holds state).
TEST_F(DatabaseTest, AFreshDirectoryGivesBackEachKindOfStateWithAndWithoutTheOwnerFilter) {
  const auto check = [&](const char* when) {
    SCOPED_TRACE(when);
    EXPECT_TRUE(db_->LoadIdentity("default", "only-profile", kReach).value().profile);
    EXPECT_EQ(db_->LoadIdentity("default", "only-baseline", kReach).value().networks.size(), 1u);
    EXPECT_EQ(db_->LoadIdentity("default", "only-event", kReach).value().events.size(), 1u);
    EXPECT_EQ(db_->LoadIdentity("default", "only-trusted", kReach).value().trusted.size(), 1u);
    EXPECT_EQ(db_->LoadIdentity("default", "with-alert", kReach).value().open_alerts.size(), 1u);
    EXPECT_EQ(
        db_->LoadAccountBaseline("default", "111122223333", Net("198.51.100.7/32")).value().count,
        4);
    EXPECT_EQ(
        db_->LoadTrusted("default", engine::TrustScope::kAccount, "444455556666").value().size(),
        1u);
    // Never written: empty, in this tenant and under a name written elsewhere.
    const engine::StoredIdentity none = db_->LoadIdentity("default", "never", kReach).value();
    EXPECT_FALSE(none.profile);
    EXPECT_TRUE(none.networks.empty() && none.events.empty() && none.trusted.empty());
    EXPECT_FALSE(db_->LoadIdentity("other", "only-profile", kReach).value().profile);
    EXPECT_EQ(
        db_->LoadAccountBaseline("default", "444455556666", Net("198.51.100.7/32")).value().count,
        0);
  };
  storage::StateBatch batch(*db_);
  batch.PutProfile("default", "only-profile", {kBase, kBase, 1});
  batch.PutBaseline("default", "only-baseline", Net("198.51.100.7/32"), {kBase, kBase, 2});
  batch.PutEvent("default", "only-event", {engine::LogKind::kSeen, kBase, 7});
  batch.PutTrusted("default", engine::TrustScope::kIdentity, "only-trusted", {Net("192.0.2.0/24")});
  batch.PutEvent("default", "with-alert", {engine::LogKind::kSeen, kBase, 8});
  batch.PutAlert(MakeAlert("alert-1", "with-alert", kBase));
  batch.PutAccountBaseline("default", "111122223333", Net("198.51.100.7/32"), {kBase, kBase, 4});
  batch.PutTrusted("default", engine::TrustScope::kAccount, "444455556666", {Net("10.0.0.0/8")});
  ASSERT_TRUE(db_->Commit(batch).ok());
  check("written in this process");
  Open();
  check("after a reopen");
}

}  // namespace
}  // namespace trailsentry::testing
