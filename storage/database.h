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
#include "server/engine/mutex.h"
#include "server/engine/state_store.h"
#include "trailsentry/v1/alert.pb.h"

namespace rocksdb {
class DB;
class Env;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace trailsentry::storage {
class HealthListener;
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
  void DeleteTrusted(std::string_view tenant, engine::TrustScope scope, std::string_view name,
                     const engine::Network& network) override;
  void PutTrusted(std::string_view tenant, engine::TrustScope scope, std::string_view name,
                  const engine::TrustedNetwork& trusted) override;
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
    // Replays a damaged write-ahead log up to its last intact record instead of
    // refusing to open (what `trailsentry admin repair` does).
    bool salvage_wal = false;
  };

  // Opens (creating if absent) the data directory. A directory written by
  // another schema version, or not by trailsentry, is refused with a message
  // saying so; nothing in it is changed. So is a damaged one (DATA_LOSS): a
  // write-ahead log that does not replay whole means acknowledged writes may
  // be gone, and the message says how to go on (Repair, or a backup).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Database>> Open(const Options& options);

  // `trailsentry admin repair`: copies the directory aside (`kept`), then opens
  // it replaying the write-ahead log up to its last intact record, and closes it
  // clean. What was written after that record is lost; `watermark` is the newest
  // event time kept, so CloudTrail from then on can be sent again.
  struct RepairReport {
    std::string kept;       // the untouched copy of the damaged directory
    int64_t watermark = 0;  // newest event time the repaired database holds (ms)
  };
  [[nodiscard]] static absl::StatusOr<RepairReport> Repair(const Options& options);

  // `trailsentry admin restore`: copies a backup into `options.path` (which must
  // not exist or be empty) and opens it to check it. Returns its watermark.
  [[nodiscard]] static absl::StatusOr<int64_t> Restore(const std::string& backup,
                                                       const Options& options);

  // A consistent copy of the live database in `dir` (must not exist): a RocksDB
  // checkpoint, SST files hard-linked when on the same filesystem. Returns the
  // bytes of its files. FAILED_PRECONDITION for an in-memory database.
  [[nodiscard]] absl::StatusOr<uint64_t> Backup(const std::string& dir);
  ~Database() override;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Writes the batch in one WriteBatch. Below the disk reserve, or after a
  // write failed (I/O error), it does not write: every Commit answers
  // UNAVAILABLE, saying why, without touching RocksDB, until Healthy() is OK.
  [[nodiscard]] absl::Status Commit(StateBatch& batch);

  // OK while writes go through. UNAVAILABLE, saying why, while the disk's free
  // space is below server.disk_reserve_bytes (Commit refuses then, before
  // RocksDB could run out of space mid-write), and after a failed write until
  // RocksDB has resumed: by itself for a full disk once there is room, else by
  // Resume(), tried at most once a second. /readyz asks this.
  [[nodiscard]] absl::Status Healthy();

  // engine::StateReader
  [[nodiscard]] absl::StatusOr<engine::StoredIdentity> LoadIdentity(
      std::string_view tenant, std::string_view identity, const engine::LogReach& reach) override;
  [[nodiscard]] absl::StatusOr<engine::BaselineEntry> LoadAccountBaseline(
      std::string_view tenant, std::string_view account, const engine::Network& network) override;
  [[nodiscard]] absl::StatusOr<std::vector<engine::TrustedNetwork>> LoadTrusted(
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
  std::string path_;
  uint64_t disk_reserve_bytes_ = 0;  // 0: no check (in memory)
  // UNAVAILABLE when the disk's free space is below disk_reserve_bytes_.
  absl::Status CheckDiskRoom() const;
  std::shared_ptr<HealthListener> health_;

  // Why writes stopped; ok while they go through. Guarded by health_mu_.
  std::atomic<bool> failed_{false};
  engine::Mutex health_mu_;
  absl::Status failure_ ABSL_GUARDED_BY(health_mu_);
  int64_t last_resume_ms_ ABSL_GUARDED_BY(health_mu_) = 0;
  std::string last_resume_error_ ABSL_GUARDED_BY(health_mu_);
};

}  // namespace trailsentry::storage

#endif  // TRAILSENTRY_STORAGE_DATABASE_H_
