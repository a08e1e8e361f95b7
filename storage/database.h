// Database: trailsentry's RocksDB store — identity profiles, identity and account
// baselines, trusted networks, the event log of each identity (duplicate ids and
// the calls the rules keep) and alerts — and the engine's StateReader over it.
//
// The only code that includes <rocksdb/...>; everything here returns
// absl::Status/StatusOr and domain types. Writes of one batch go in one
// WriteBatch (Commit), WAL on; with `sync` every commit is fsync'ed. An empty
// path keeps the whole database in memory (RocksDB's in-memory Env): the same
// code and the same results, nothing on disk.
//
//   auto db = Database::Open({.path = "./trailsentry-data", .config = &config}).value();
//   auto engine = engine::Engine::Create(config, db.get()).value();
//   StateBatch batch(*db);
//   engine->Evaluate(tenant, event, changes, &batch);
//   absl::Status s = db->Commit(batch);
#ifndef TRAILSENTRY_STORAGE_DATABASE_H_
#define TRAILSENTRY_STORAGE_DATABASE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/engine/config.h"
#include "server/engine/state_store.h"
#include "trailsentry/v1/alert.pb.h"

namespace rocksdb {
class DB;
class Env;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace trailsentry::storage {
namespace internal {
struct StoredAlert;
}  // namespace internal

inline constexpr int kSchemaVersion = 2;

class Database;

// The writes of one batch: an engine::StateWriter that fills a WriteBatch.
// Profiles and baseline entries keep only their last value per batch (an entry
// changed by many events is written once).
class StateBatch final : public engine::StateWriter {
 public:
  explicit StateBatch(Database& db);
  ~StateBatch() override;
  StateBatch(const StateBatch&) = delete;
  StateBatch& operator=(const StateBatch&) = delete;

  void PutProfile(std::string_view tenant, std::string_view identity,
                  const engine::IdentityProfile& profile) override;
  void PutBaseline(std::string_view tenant, std::string_view identity,
                   const engine::Network& network, const engine::BaselineEntry& entry) override;
  void PutAccountBaseline(std::string_view tenant, std::string_view account,
                          const engine::Network& network,
                          const engine::BaselineEntry& entry) override;
  void PutAlert(const engine::Alert& alert) override;
  void PutTrusted(std::string_view tenant, engine::TrustScope scope, std::string_view name,
                  const engine::Network& network) override;
  void PutEvent(std::string_view tenant, std::string_view identity,
                const engine::EventLogEntry& event) override;
  void DeleteEvent(std::string_view tenant, std::string_view identity, engine::LogKind kind,
                   engine::EventTime time, uint64_t id_hash) override;
  void DeleteIdentity(std::string_view tenant, std::string_view identity) override;

  size_t writes() const { return writes_; }
  // The newest event time among what was written (advances the expiry watermark).
  int64_t newest() const { return newest_; }

 private:
  friend class Database;
  // The last value of a profile or baseline key in this batch, by column family
  // byte + key.
  void PutLatest(int cf, std::string_view tenant, std::string_view name,
                 const engine::Network* network, const engine::BaselineEntry& entry);

  Database& db_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  absl::flat_hash_map<std::string, std::string> latest_;
  std::string key_, value_;  // reused by PutLatest
  struct SeenRecord {
    std::string packed;  // (time, id hash) pairs, big-endian
    int64_t newest = INT64_MIN;
    uint64_t ids = 0;  // XOR of the id hashes
  };
  absl::flat_hash_map<std::string, SeenRecord> seen_;  // by identity key
  size_t writes_ = 0;
  int64_t newest_ = INT64_MIN;
};

struct AlertQuery {
  std::string tenant;
  std::string identity;       // empty: all
  std::string rule_id;        // empty: all
  int64_t since = INT64_MIN;  // opened_at >= since (ms)
  int64_t until = INT64_MAX;  // opened_at < until (ms)
  int page_size = 100;
  std::string page_token;  // from a previous page; empty: newest first
};

struct AlertPage {
  std::vector<v1::Alert> alerts;  // newest first
  std::string next_page_token;    // empty: no more
};

class Database final : public engine::StateReader {
 public:
  struct Options {
    std::string path = "./trailsentry-data";  // "": in memory only
    const engine::Config* config = nullptr;   // history and max_lateness for expiry
    bool sync = false;                        // fsync every commit
    // false: commits skip the write-ahead log (bulk loads such as `scan`); the
    // memtables are flushed on close instead, so a crash mid-load loses the load.
    bool wal = true;
  };

  // Opens (creating if absent) the data directory. A directory written by
  // another schema version, or not by trailsentry, is refused with a message
  // saying so; nothing in it is changed.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Database>> Open(const Options& options);
  ~Database() override;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  [[nodiscard]] absl::Status Commit(StateBatch& batch);

  // engine::StateReader
  [[nodiscard]] absl::StatusOr<engine::StoredIdentity> LoadIdentity(
      std::string_view tenant, std::string_view identity, const engine::LogReach& reach) override;
  [[nodiscard]] absl::StatusOr<engine::BaselineEntry> LoadAccountBaseline(
      std::string_view tenant, std::string_view account, const engine::Network& network) override;
  [[nodiscard]] absl::StatusOr<std::vector<engine::Network>> LoadTrusted(
      std::string_view tenant, engine::TrustScope scope, std::string_view name) override;

  // Alert history.
  [[nodiscard]] absl::StatusOr<std::optional<v1::Alert>> GetAlert(std::string_view tenant,
                                                                  std::string_view alert_id);
  [[nodiscard]] absl::StatusOr<AlertPage> ListAlerts(const AlertQuery& query);
  // An alert as the engine holds it (event ids with their times).
  [[nodiscard]] absl::StatusOr<std::optional<engine::Alert>> LoadAlert(std::string_view tenant,
                                                                       std::string_view alert_id,
                                                                       int64_t opened_at);

  // Forces a full compaction (expiry runs then); for tests and operators.
  [[nodiscard]] absl::Status CompactAll();
  // Newest event time committed so far: expiry is relative to it, never to the clock.
  int64_t watermark() const { return watermark_->load(); }
  // Approximate bytes of live SST files per column family name.
  std::vector<std::pair<std::string, uint64_t>> DiskUsage();
  uint64_t CountKeys(std::string_view column_family);
  // Size and write-stall gauges for /metrics: (name, value).
  std::vector<std::pair<std::string, double>> Gauges();

 private:
  friend class StateBatch;
  enum Cf {
    kMeta = 0,
    kIdentity,
    kBaseline,
    kAccountBaseline,
    kTrusted,
    kAlerts,
    kAlertsByTime,
    kAlertsByIdentity,
    kEventLog,
    kCfCount
  };
  static const char* const kCfNames[kCfCount];

  Database() = default;
  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles_[c]; }
  // Reads the identity's event log: its newest record's time, then every record
  // of each kind within reach of it.
  absl::Status LoadEventLog(std::string_view prefix, const engine::LogReach& reach,
                            engine::StoredIdentity& out);
  absl::StatusOr<std::optional<internal::StoredAlert>> ReadAlert(std::string_view tenant,
                                                                 std::string_view alert_id);
  absl::Status LoadOpenAlerts(std::string_view tenant, std::string_view prefix, int64_t from,
                              engine::StoredIdentity& out);

  std::unique_ptr<rocksdb::Env> mem_env_;  // in-memory databases only; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::shared_ptr<std::atomic<int64_t>> watermark_ = std::make_shared<std::atomic<int64_t>>(0);
  bool sync_ = false;
  bool wal_ = true;
};

}  // namespace trailsentry::storage

#endif  // TRAILSENTRY_STORAGE_DATABASE_H_
