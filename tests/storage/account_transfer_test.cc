// Moving an account between data directories (issue 12): an export carries
// exactly the account's state, an import gives it back as it was, the source
// keeps every other account, and damaged or repeated imports are refused.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "storage/database.h"
#include "tests/storage/database_fixture.h"

namespace trailsentry::testing {
namespace {

constexpr engine::LogReach kReach{3600000, 3600000, 3600000};
constexpr int64_t kBase = 1773567000000;

std::string Arn(const std::string& account, int i) {
  return absl::StrCat("arn:aws:iam::", account, ":user/u", i);
}

class AccountTransferTest : public DatabaseTest {
 protected:
  // Two accounts of "default" and one of "other", each with two identities
  // holding every kind of state.
  void Fill() {
    storage::StateBatch batch(*db_);
    for (const auto& [tenant, account] : kAccounts) {
      for (int i = 0; i < 2; ++i) {
        const std::string id = Arn(account, i);
        const int64_t t = kBase + i * 1000;
        batch.PutProfile(tenant, id, {kBase, t, 3});
        batch.PutBaseline(tenant, id, Net("198.51.100.7/32"), {kBase, t, 2});
        batch.PutEvent(tenant, id, {engine::LogKind::kSeen, t, uint64_t(i + 1)});
        batch.PutTrusted(tenant, engine::TrustScope::kIdentity, id, {Net("192.0.2.0/24")});
        engine::Alert a = MakeAlert(absl::StrCat("alert-", account, "-", i), id, t);
        a.tenant = tenant;
        batch.PutAlert(a);
      }
      // An identity with nothing but a trusted network.
      batch.PutTrusted(tenant, engine::TrustScope::kIdentity, Arn(account, 9),
                       {Net("203.0.113.0/24")});
      // An identity composed as "account:principalId" (no ARN).
      batch.PutProfile(tenant, absl::StrCat(account, ":AIDAEXAMPLE"), {kBase, kBase, 1});
      batch.PutAccountBaseline(tenant, account, Net("198.51.100.7/32"), {kBase, kBase, 4});
      batch.PutTrusted(tenant, engine::TrustScope::kAccount, account, {Net("10.0.0.0/8")});
    }
    batch.PutTrusted("default", engine::TrustScope::kHostile, "", {Net("185.220.101.0/24")});
    ASSERT_TRUE(db_->Commit(batch).ok());
  }

  const std::vector<std::pair<std::string, std::string>> kAccounts = {
      {"default", "111122223333"}, {"default", "444455556666"}, {"other", "111122223333"}};
};

TEST_F(AccountTransferTest, ExportDeleteImportGivesTheStateBackExactly) {
  Fill();
  auto listed = db_->ListAccounts().value();
  ASSERT_EQ(listed.size(), 3u);
  const storage::Database::AccountRef moved{"default", "111122223333"};
  const auto before = db_->LoadIdentity("default", Arn(moved.account, 1), kReach).value();
  ASSERT_EQ(before.open_alerts.size(), 1u);
  const uint64_t keys_before = db_->CountKeys("identity");

  const std::string file = dir_.path() + "/moved.tsacct";
  auto records = db_->ExportAccount(moved, file, /*remove=*/true);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_GT(*records, 10u);
  // Gone from the source: its identities, its account baseline, its alerts;
  // the other account and the other tenant's same account id stay, and so do
  // the tenant's hostile networks.
  EXPECT_FALSE(db_->LoadIdentity("default", Arn(moved.account, 1), kReach).value().profile);
  EXPECT_EQ(
      db_->LoadAccountBaseline("default", moved.account, Net("198.51.100.7/32")).value().count, 0);
  EXPECT_EQ(db_->CountKeys("identity"), keys_before - 3);
  EXPECT_TRUE(db_->LoadIdentity("default", Arn("444455556666", 0), kReach).value().profile);
  EXPECT_TRUE(db_->LoadIdentity("other", Arn(moved.account, 0), kReach).value().profile);
  EXPECT_EQ(db_->LoadTrusted("default", engine::TrustScope::kHostile, "").value().size(), 1u);
  EXPECT_FALSE(db_->GetAlert("default", "alert-111122223333-1").value().has_value());

  // Into another directory: as it was.
  engine::Config config;
  auto other = storage::Database::Open({.path = dir_.path() + "/other", .config = &config}).value();
  auto report = other->ImportAccount(file);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->account, moved);
  EXPECT_EQ(report->records, *records);
  const auto after = other->LoadIdentity("default", Arn(moved.account, 1), kReach).value();
  EXPECT_EQ(after.profile, before.profile);
  ASSERT_EQ(after.networks.size(), before.networks.size());
  EXPECT_EQ(after.networks[0].second, before.networks[0].second);
  EXPECT_EQ(after.trusted.size(), before.trusted.size());
  EXPECT_EQ(after.events.size(), before.events.size());
  ASSERT_EQ(after.open_alerts.size(), 1u);
  EXPECT_EQ(after.open_alerts[0].alert_id, before.open_alerts[0].alert_id);
  EXPECT_TRUE(
      other->LoadIdentity("default", moved.account + ":AIDAEXAMPLE", kReach).value().profile);
  EXPECT_EQ(
      other->LoadAccountBaseline("default", moved.account, Net("198.51.100.7/32")).value().count,
      4);
  EXPECT_EQ(
      other->LoadTrusted("default", engine::TrustScope::kAccount, moved.account).value().size(),
      1u);
  EXPECT_EQ(other->LoadTrusted("default", engine::TrustScope::kHostile, "").value().size(), 1u);
  storage::AlertQuery q = Query("default");
  EXPECT_EQ(other->ListAlerts(q).value().alerts.size(), 2u);
  EXPECT_EQ(other->watermark(), db_->watermark());
  EXPECT_EQ(other->ListAccounts().value().size(), 1u);

  // Never merged: a second import of the account is refused, nothing written.
  const uint64_t keys = other->CountKeys("baseline");
  EXPECT_EQ(other->ImportAccount(file).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(other->CountKeys("baseline"), keys);
}

TEST_F(AccountTransferTest, ACutOrForeignFileIsRefusedAndWritesNothing) {
  Fill();
  const std::string file = dir_.path() + "/a.tsacct";
  ASSERT_TRUE(db_->ExportAccount({"default", "444455556666"}, file, /*remove=*/false).ok());
  std::string bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  engine::Config config;
  auto other = storage::Database::Open({.path = dir_.path() + "/other", .config = &config}).value();
  for (size_t cut : {size_t{3}, bytes.size() / 2, bytes.size() - 1}) {
    const std::string path = absl::StrCat(dir_.path(), "/cut", cut);
    std::ofstream(path, std::ios::binary) << bytes.substr(0, cut);
    auto r = other->ImportAccount(path);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << cut << " " << r.status();
  }
  EXPECT_EQ(other->CountKeys("identity"), 0u);
  EXPECT_EQ(other->ImportAccount(dir_.path() + "/missing").status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(other->ImportAccount(file).ok());  // the whole file still imports
  EXPECT_EQ(other->CountKeys("identity"), 3u);
}

TEST_F(AccountTransferTest, ExportingEveryAccountAtOnceMovesAllOfItAndOnlyIt) {
  // Every account, in one pass over the directory's identities: the source is
  // left with the tenant-wide hostile networks only; imported elsewhere, every
  // column family holds what the source held.
  Fill();
  const std::vector<std::string> families = {
      "identity",       "baseline",           "account_baseline", "trusted",     "alerts",
      "alerts_by_time", "alerts_by_identity", "event_log",        "alert_triage"};
  std::map<std::string, uint64_t> before;
  for (const std::string& f : families) before[f] = db_->CountKeys(f);
  std::vector<std::string> files;
  ASSERT_TRUE(
      db_->ExportAccounts(
             db_->ListAccounts().value(),
             [&](const storage::Database::AccountRef& a) {
               return absl::StrCat(dir_.path(), "/", a.tenant, ".", a.account, ".tsacct");
             },
             /*remove=*/true,
             [&](const storage::Database::AccountRef&, const std::string& path, uint64_t records) {
               EXPECT_GT(records, 10u);
               files.push_back(path);
             })
          .ok());
  ASSERT_EQ(files.size(), 3u);
  for (const std::string& f : families) {
    EXPECT_EQ(db_->CountKeys(f), f == "trusted" ? 1u : 0u) << f;  // the hostile network
  }
  engine::Config config;
  auto other = storage::Database::Open({.path = dir_.path() + "/other", .config = &config}).value();
  for (const std::string& file : files) ASSERT_TRUE(other->ImportAccount(file).ok()) << file;
  for (const std::string& f : families) EXPECT_EQ(other->CountKeys(f), before[f]) << f;
  EXPECT_EQ(other->LoadTrusted("default", engine::TrustScope::kIdentity, Arn("444455556666", 9))
                .value()
                .size(),
            1u);
}

}  // namespace
}  // namespace trailsentry::testing
