// Upgrading earlier schemas (storage/schema_migration.cc). Schema 2 (each
// identity's profile in "identity", each of its networks a key of "baseline"):
// a directory opens with every profile and network read back as written,
// "baseline" left empty; a run cut short resumes; an account export of schema 2
// (export version 1) imports as identity records. Schema 3 (seen events in the
// event log): they are still read back, beside the ones records now hold.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "storage/internal/codec.h"
#include "storage/internal/identity_record.h"
#include "storage/keys.h"
#include "tests/storage/database_fixture.h"

namespace trailsentry::testing {
namespace {

namespace keys = storage::keys;
namespace internal = storage::internal;
using engine::BaselineEntry;

constexpr engine::LogReach kReach{3600000, 3600000, 3600000};
constexpr int64_t kBase = 1773567000000;

// What a schema-2 directory holds of one identity.
struct Written {
  std::optional<BaselineEntry> profile;
  std::map<std::string, BaselineEntry> networks;  // by CIDR
};

// 10,000 identities (more than one batch of the upgrade): every third has no
// profile, every fifth no network, the others up to three networks.
std::map<std::string, Written> SchemaTwoState() {
  std::map<std::string, Written> out;
  for (int i = 0; i < 10000; ++i) {
    Written w;
    const int64_t t = kBase + i;
    if (i % 3 != 0) w.profile = BaselineEntry{kBase, t, i + 1};
    for (int n = 0; i % 5 != 0 && n <= i % 3; ++n) {
      w.networks[absl::StrCat("198.51.", n, ".", i % 250, "/32")] = {kBase, t + n, n + 1};
    }
    if (i % 7 == 0) w.networks["2001:db8::/64"] = {kBase, t, 9};
    if (!w.profile && w.networks.empty()) w.profile = BaselineEntry{kBase, t, 1};
    out[absl::StrCat("arn:aws:iam::111122223333:user/u", i)] = w;
  }
  return out;
}

class SchemaUpgradeTest : public DatabaseTest {
 protected:
  // Rewrites the (closed) directory as a schema-2 build left it, holding
  // `state`, and `raw_profiles` (identity -> value) as they are; the identities
  // up to the owner key `moved_through` as an upgrade cut short after them
  // left them.
  // Closes the database and writes to its directory with plain RocksDB, as
  // another build would: `write` fills a batch, given the column families by name.
  void WriteRaw(absl::FunctionRef<void(std::map<std::string, rocksdb::ColumnFamilyHandle*>& cf,
                                       rocksdb::WriteBatch& batch)>
                    write) {
    db_.reset();
    const std::string path = dir_.path() + "/data";
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    for (const auto& n : names) descriptors.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, descriptors, &handles, &raw).ok());
    std::map<std::string, rocksdb::ColumnFamilyHandle*> cf;
    for (size_t i = 0; i < names.size(); ++i) cf[names[i]] = handles[i];
    rocksdb::WriteBatch batch;
    write(cf, batch);
    ASSERT_TRUE(raw->Write(rocksdb::WriteOptions(), &batch).ok());
    for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }

  // Rewrites the (closed) directory as a schema-2 build left it, holding
  // `state`, and `raw_profiles` (identity -> value) as they are; the identities
  // up to the owner key `moved_through` as an upgrade cut short after them
  // left them.
  void WriteSchemaTwo(const std::map<std::string, Written>& state,
                      const std::string& moved_through = "",
                      const std::map<std::string, std::string>& raw_profiles = {}) {
    WriteRaw([&](std::map<std::string, rocksdb::ColumnFamilyHandle*>& cf,
                 rocksdb::WriteBatch& batch) {
      for (const auto& [identity, w] : state) {
        const std::string owner = keys::Identity("default", identity);
        if (!moved_through.empty() && owner <= moved_through) {  // moved already
          internal::IdentityRecord r;
          r.profile = w.profile;
          for (const auto& [cidr, e] : w.networks)
            r.networks.emplace_back(keys::EncodeNetwork(Net(cidr.c_str())), e);
          std::sort(r.networks.begin(), r.networks.end(),
                    [](const auto& a, const auto& b) { return a.first.view() < b.first.view(); });
          std::string v;
          internal::EncodeRecord(r, v);
          batch.Put(cf["identity"], owner, v);
          continue;
        }
        if (w.profile) batch.Put(cf["identity"], owner, internal::EncodeEntry(*w.profile));
        for (const auto& [cidr, e] : w.networks) {
          batch.Put(cf["baseline"], keys::Baseline("default", identity, Net(cidr.c_str())),
                    internal::EncodeEntry(e));
        }
      }
      for (const auto& [identity, value] : raw_profiles) {
        batch.Put(cf["identity"], keys::Identity("default", identity), value);
      }
      batch.Put(cf["default"], "schema_version", "2");
      if (!moved_through.empty()) batch.Put(cf["default"], "schema3_moved_through", moved_through);
    });
  }

  void ExpectState(const std::map<std::string, Written>& state) {
    for (const auto& [identity, w] : state) {
      auto stored = db_->LoadIdentity("default", identity, kReach);
      ASSERT_TRUE(stored.ok()) << identity << ": " << stored.status();
      EXPECT_EQ(stored->profile, w.profile) << identity;
      std::map<std::string, BaselineEntry> networks;
      for (const auto& [net, e] : stored->networks) networks[net.ToString()] = e;
      EXPECT_EQ(networks, w.networks) << identity;
    }
    EXPECT_EQ(db_->CountKeys("baseline"), 0u);
    EXPECT_EQ(db_->CountKeys("identity"), state.size());
  }
};

TEST_F(SchemaUpgradeTest, ASchemaTwoDirectoryOpensWithEveryProfileAndNetwork) {
  const auto state = SchemaTwoState();
  WriteSchemaTwo(state);
  Open();
  ExpectState(state);
  // Upgraded once: it opens as schema 4, and new writes merge into the records.
  const std::string first = state.begin()->first;
  storage::StateBatch batch(*db_);
  batch.PutBaseline("default", first, Net("203.0.113.9/32"), {kBase + 50, kBase + 50, 1});
  ASSERT_TRUE(db_->Commit(batch).ok());
  Open();
  auto stored = db_->LoadIdentity("default", first, kReach).value();
  EXPECT_EQ(stored.networks.size(), state.begin()->second.networks.size() + 1);
  EXPECT_EQ(stored.profile, state.begin()->second.profile);
}

TEST_F(SchemaUpgradeTest, SchemaThreeSeenEventsInTheEventLogAreStillReadBack) {
  // A schema-3 build kept a batch's seen events of an identity in one event-log
  // record: key owner | 'S' | newest time | XOR of the ids, value the (time, id)
  // pairs, big-endian; and the identity's profile in its record.
  const std::string id = "arn:aws:iam::111122223333:user/alice";
  const std::string owner = keys::Identity("default", id);
  WriteRaw(
      [&](std::map<std::string, rocksdb::ColumnFamilyHandle*>& cf, rocksdb::WriteBatch& batch) {
        internal::IdentityRecord r;
        r.profile = BaselineEntry{kBase, kBase + 20, 2};
        std::string v;
        internal::EncodeRecord(r, v);
        batch.Put(cf["identity"], owner, v);
        std::string key = owner, packed;
        key.push_back('S');
        keys::AppendBigEndian64(key, kBase + 20);
        keys::AppendBigEndian64(key, 0x11 ^ 0x22);
        for (const auto& [time, id_hash] : {std::pair<int64_t, uint64_t>{kBase + 10, 0x11},
                                            std::pair<int64_t, uint64_t>{kBase + 20, 0x22}}) {
          keys::AppendBigEndian64(packed, static_cast<uint64_t>(time));
          keys::AppendBigEndian64(packed, id_hash);
        }
        batch.Put(cf["event_log"], key, packed);
        batch.Put(cf["default"], "schema_version", "3");
      });
  Open();
  // A new seen event goes in the record; both kinds come back, in time order.
  storage::StateBatch batch(*db_);
  batch.PutEvent("default", id, {engine::LogKind::kSeen, kBase + 15, 0x33});
  ASSERT_TRUE(db_->Commit(batch).ok());
  EXPECT_EQ(db_->CountKeys("event_log"), 1u);  // the schema-3 record only
  for (int reopened = 0; reopened < 2; ++reopened) {
    auto stored = db_->LoadIdentity("default", id, kReach);
    ASSERT_TRUE(stored.ok()) << stored.status();
    std::vector<std::pair<int64_t, uint64_t>> seen;
    for (const engine::LoggedEvent& e : stored->events) {
      EXPECT_EQ(e.kind, engine::LogKind::kSeen);
      seen.emplace_back(e.time, e.id_hash);
    }
    EXPECT_EQ(seen, (std::vector<std::pair<int64_t, uint64_t>>{
                        {kBase + 10, 0x11}, {kBase + 15, 0x33}, {kBase + 20, 0x22}}));
    EXPECT_EQ(stored->newest_logged, kBase + 20);
    EXPECT_EQ(stored->profile, (BaselineEntry{kBase, kBase + 20, 2}));
    Open();  // upgraded once: opens as schema 4
  }
}

TEST_F(SchemaUpgradeTest, AnUpgradeCutShortResumesAfterTheLastOwnerItMoved) {
  const auto state = SchemaTwoState();
  auto middle = state.begin();
  std::advance(middle, 4096);
  WriteSchemaTwo(state, keys::Identity("default", middle->first));
  Open();  // reading a moved record as a schema-2 profile would fail here
  ExpectState(state);
}

TEST_F(SchemaUpgradeTest, ADamagedSchemaTwoProfileIsRefusedNamingIt) {
  std::map<std::string, Written> state;
  state["arn:aws:iam::111122223333:user/ok"].profile = BaselineEntry{kBase, kBase, 1};
  WriteSchemaTwo(state, "", {{"arn:aws:iam::111122223333:user/bad", "\xff"}});
  auto refused = storage::Database::Open({.path = dir_.path() + "/data", .config = &config_});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(refused.status().message().find("user/bad"), std::string::npos) << refused.status();
  EXPECT_NE(refused.status().message().find("schema version 2"), std::string::npos);
}

TEST_F(SchemaUpgradeTest, AnExportOfSchemaTwoImportsAsIdentityRecords) {
  // Export version 1, as a schema-2 build wrote it: a profile record (column
  // family 1) and a baseline record (column family 2) of one identity.
  const std::string id = "arn:aws:iam::111122223333:user/alice";
  std::string file("TSACCT1\n");
  internal::PutVarint(file, 1);
  keys::AppendComponent(file, "default");
  keys::AppendComponent(file, "111122223333");
  keys::AppendBigEndian64(file, kBase);
  auto record = [&](char cf, const std::string& key, const std::string& value) {
    file.push_back(cf);
    keys::AppendComponent(file, key);
    keys::AppendComponent(file, value);
  };
  record(1, keys::Identity("default", id), internal::EncodeEntry({kBase, kBase + 9, 4}));
  record(2, keys::Baseline("default", id, Net("198.51.100.7/32")),
         internal::EncodeEntry({kBase, kBase + 9, 3}));
  record(2, keys::Baseline("default", id, Net("2001:db8::/64")),
         internal::EncodeEntry({kBase, kBase + 1, 1}));
  file.append(std::string("\0END", 4));
  internal::PutVarint(file, 3);
  const std::string path = dir_.path() + "/v1.tsacct";
  std::ofstream(path, std::ios::binary) << file;

  auto report = db_->ImportAccount(path);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->records, 3u);
  Open();
  auto stored = db_->LoadIdentity("default", id, kReach).value();
  EXPECT_EQ(stored.profile, (BaselineEntry{kBase, kBase + 9, 4}));
  ASSERT_EQ(stored.networks.size(), 2u);
  EXPECT_EQ(stored.networks[0].first.ToString(), "198.51.100.7/32");
  EXPECT_EQ(stored.networks[0].second, (BaselineEntry{kBase, kBase + 9, 3}));
  EXPECT_EQ(stored.networks[1].first.ToString(), "2001:db8::/64");
  EXPECT_EQ(db_->CountKeys("baseline"), 0u);

  // Importing it again is refused: the identity has state here now.
  auto again = db_->ImportAccount(path);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already holds state"), std::string::npos);
}

}  // namespace
}  // namespace trailsentry::testing
