// Database: trailsentry's RocksDB store — identity records (profile, baselines
// and the ids of recent events), account baselines, trusted networks, the event
// log of each identity (the calls the rules keep) and alerts — and the engine's
// StateReader over it.
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
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/engine/config.h"
#include "server/engine/mutex.h"
#include "server/engine/state_store.h"
#include "storage/internal/coalesced_writes.h"
#include "storage/internal/identity_record.h"
#include "storage/internal/owner_filter.h"
#include "storage/internal/pending_writes.h"
#include "trailsentry/v1/alert.pb.h"

namespace rocksdb {
class DB;
class MergeOperator;
class Env;
class ColumnFamilyHandle;
class WriteBatch;
struct WriteOptions;
}  // namespace rocksdb

namespace trailsentry::storage {
class HealthListener;
namespace internal {
struct StoredAlert;
}  // namespace internal

// 4: an identity's profile, baselines and seen events in one record
// (internal/identity_record.h). A directory of version 2 or 3 is upgraded when
// opened (storage/schema_migration.cc).
inline constexpr int kSchemaVersion = 4;

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
  void WillObserve(std::string_view tenant, std::string_view identity, std::string_view account,
                   const engine::Network& network) override;
  void PutEvent(std::string_view tenant, std::string_view identity,
                const engine::EventLogEntry& event) override;
  void DeleteEvent(std::string_view tenant, std::string_view identity, engine::LogKind kind,
                   engine::EventTime time, uint64_t id_hash) override;
  void DeleteIdentity(std::string_view tenant, std::string_view identity) override;

  size_t writes() const { return writes_; }
  // The newest event time among what was written (advances the expiry watermark).
  int64_t newest() const { return newest_; }
  // After a successful Commit: each alert the batch wrote, as the change log
  // holds it (triage, sequence, link); in no particular order.
  const std::vector<v1::AlertChange>& committed_changes() const { return committed_; }

 private:
  friend class Database;
  friend class Transaction;  // takes committed_ before giving the batch back
  // Empties the batch (after a commit, whether it went through or not).
  void Reset();
  // Coalesces a profile or baseline key's writes: its last value is written.
  void PutLatest(int cf, const internal::Owner& owner, const engine::Network* network,
                 const engine::BaselineEntry& entry);

  Database& db_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  // With write-behind: at Commit, batch_'s state changes (journaled) and the
  // rest (alerts, written as they are).
  std::unique_ptr<rocksdb::WriteBatch> state_, direct_;
  // Profiles, baselines and seen events, written at Commit.
  internal::CoalescedWrites coalesced_;
  // At Commit: each identity's seen events (seen_[offset, offset + size)).
  struct SeenOwner {
    std::string_view key;
    size_t offset = 0, size = 0;
  };
  std::vector<SeenOwner> seen_owners_;
  std::vector<internal::SeenEvent> seen_;
  // The identity and the account last written: an event writes its identity's
  // entries and its account's, and the next event most often the same again.
  internal::LastOwner identity_, account_;
  // The last state of each alert the batch changed, by its alerts key.
  struct PendingAlert {
    v1::Alert proto;
    std::vector<int64_t> event_times;
    int64_t opened_at = 0;
  };
  absl::flat_hash_map<std::string, PendingAlert> alerts_;
  std::vector<v1::AlertChange> committed_;
  std::string key_, value_, owner_;  // reused to build keys and values
  size_t writes_ = 0;
  int64_t newest_ = INT64_MIN;
};

struct AlertQuery {
  std::string tenant;
  std::string identity;                                      // empty: all
  std::string rule_id;                                       // empty: all
  v1::Alert::Status status = v1::Alert::STATUS_UNSPECIFIED;  // unspecified: all
  int64_t since = INT64_MIN;                                 // opened_at >= since (ms)
  int64_t until = INT64_MAX;                                 // opened_at < until (ms)
  int page_size = 100;
  std::string page_token;  // from a previous page; empty: newest first
};

struct AlertPage {
  std::vector<v1::Alert> alerts;  // newest first
  std::string next_page_token;    // empty: no more
};

// Alerts changed at or after `updated_since` (server clock, ms), most recently
// changed first, each once.
struct ChangedAlertQuery {
  std::string tenant;
  int64_t updated_since = 0;
  std::string rule_id;                                       // empty: all
  v1::Alert::Status status = v1::Alert::STATUS_UNSPECIFIED;  // unspecified: all
  int page_size = 100;
  std::string page_token;
};

struct ChangeRange {
  int64_t first = 1;  // the oldest sequence the log still holds (last + 1 when empty)
  int64_t last = 0;   // the newest sequence ever written (0: none)
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
    // Write-behind (the server): a commit writes its state changes as one
    // journal value (with its alerts, which are written as they are), and a
    // background thread applies what the journal holds about once a second,
    // one write per key changed since (storage/internal/pending_writes.h).
    // Until then the engine keeps the changed state in memory
    // (StateReader::AppliedBelow). Open replays a journal left by a crash.
    bool write_behind = false;
    absl::Duration apply_every = absl::Seconds(1);  // how often the journal is applied
    // The Env RocksDB's files go through (on disk only; nullptr: the
    // default). Tests pass one that fails writes on demand, as a full disk does.
    rocksdb::Env* env = nullptr;
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
  uint64_t AppliedBelow() const override { return unapplied_from_.load(); }
  void ReadingBack() override { must_apply_.store(write_behind_); }
  [[nodiscard]] absl::StatusOr<engine::StoredIdentity> LoadIdentity(
      std::string_view tenant, std::string_view identity, const engine::LogReach& reach) override;
  [[nodiscard]] absl::StatusOr<engine::BaselineEntry> LoadAccountBaseline(
      std::string_view tenant, std::string_view account, const engine::Network& network) override;
  [[nodiscard]] absl::StatusOr<std::vector<engine::TrustedNetwork>> LoadTrusted(
      std::string_view tenant, engine::TrustScope scope, std::string_view name) override;
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<std::string, engine::TrustedNetwork>>>
  LoadHostile() override;

  // Alert history.
  [[nodiscard]] absl::StatusOr<std::optional<v1::Alert>> GetAlert(std::string_view tenant,
                                                                  std::string_view alert_id);
  [[nodiscard]] absl::StatusOr<AlertPage> ListAlerts(const AlertQuery& query);
  // Merges the alert's triage (OPEN when it has none yet) and fills its link:
  // for an alert built from the engine's state.
  [[nodiscard]] absl::Status Decorate(std::string_view tenant, v1::Alert& alert);
  // Alerts changed since a server-clock time, from the change log; OUT_OF_RANGE
  // when the log no longer reaches back that far.
  [[nodiscard]] absl::StatusOr<AlertPage> ListChangedAlerts(const ChangedAlertQuery& query);

  // Triage: `change` edits the alert's triage fields (status, disposition,
  // assignee, notes) given the alert as it is; an error from it is returned
  // as is and nothing is written. Stamps updated_at, logs a TRIAGED change,
  // and answers the alert as it is now. NOT_FOUND when there is no such alert.
  [[nodiscard]] absl::StatusOr<v1::Alert> UpdateAlert(
      std::string_view tenant, std::string_view alert_id,
      absl::FunctionRef<absl::Status(const v1::Alert& now, v1::Alert& triage)> change);

  // The change log (alert changes in commit order, each with its sequence).
  // Up to `limit` changes after `after`, of `tenant` (empty: every tenant);
  // `scanned` is set to the sequence read up to (so a reader skipping other
  // tenants' changes moves on).
  [[nodiscard]] absl::StatusOr<std::vector<v1::AlertChange>> ReadChanges(int64_t after,
                                                                         size_t limit,
                                                                         std::string_view tenant,
                                                                         int64_t* scanned);
  ChangeRange change_range();
  // Waits up to `timeout` for a change after `after`; true when there is one.
  bool WaitForChanges(int64_t after, absl::Duration timeout);
  // Called (outside any lock) with the last sequence after each commit that
  // logged changes. Returns an id for RemoveChangeListener.
  int AddChangeListener(std::function<void(int64_t)> listener);
  void RemoveChangeListener(int id);
  // Drops changes logged before `now_ms - retention`; returns how many.
  [[nodiscard]] absl::StatusOr<int64_t> PruneChanges(int64_t now_ms, absl::Duration retention);
  // A named reader's position in the change log (webhook delivery), kept
  // across restarts; nullopt when never stored.
  [[nodiscard]] absl::StatusOr<std::optional<int64_t>> ReadCursor(std::string_view name);
  [[nodiscard]] absl::Status WriteCursor(std::string_view name, int64_t sequence);

  // An alert as the engine holds it (event ids with their times).
  [[nodiscard]] absl::StatusOr<std::optional<engine::Alert>> LoadAlert(std::string_view tenant,
                                                                       std::string_view alert_id,
                                                                       int64_t opened_at);

  // Moving accounts between replicas (storage/account_transfer.cc; the data
  // directories' servers stopped). An account's state: its identities'
  // profiles, baselines, trusted networks, event logs and alerts (records,
  // indexes, triage), the account's baseline and trusted networks; exports also
  // carry the tenant's hostile networks. The alert change log stays.
  struct AccountRef {
    std::string tenant, account;
    friend bool operator==(const AccountRef&, const AccountRef&) = default;
  };
  struct ImportReport {
    AccountRef account;
    uint64_t records = 0;
  };
  // The (tenant, account) pairs the directory holds state of.
  [[nodiscard]] absl::StatusOr<std::vector<AccountRef>> ListAccounts();
  // Writes the account's state to a new file at `path` (synced, then renamed
  // into place); returns how many records it holds. With `remove`, then deletes
  // those records from this directory, but the tenant's hostile networks.
  [[nodiscard]] absl::StatusOr<uint64_t> ExportAccount(const AccountRef& account,
                                                       const std::string& path, bool remove);
  // ExportAccount for each of `accounts`, to `path_of(account)`, reading the
  // directory's identity keys once for them all (not once per account);
  // `on_exported` after each file is in place. Stops at the first error.
  [[nodiscard]] absl::Status ExportAccounts(
      const std::vector<AccountRef>& accounts,
      absl::FunctionRef<std::string(const AccountRef&)> path_of, bool remove,
      absl::FunctionRef<void(const AccountRef&, const std::string& path, uint64_t records)>
          on_exported);
  // Writes an export's records in one batch. FAILED_PRECONDITION when the
  // directory already holds state of that account (never merged); DATA_LOSS
  // when the file is not a whole export.
  [[nodiscard]] absl::StatusOr<ImportReport> ImportAccount(const std::string& path);

  // A batch for the next transaction: one an earlier transaction gave back
  // (its write batch, key arena and tables keep their capacity, so a batch
  // like the last one grows nothing), or a new one.
  std::unique_ptr<StateBatch> TakeBatch();
  // Empties `batch` and keeps it for TakeBatch; at most kPooledBatches are
  // kept, so what stays allocated is at most what that many batches at once
  // needed before.
  void GiveBackBatch(std::unique_ptr<StateBatch> batch);

  // With write-behind: writes what the journal holds now (the background
  // thread does so about once a second). Reads of RocksDB that do not go
  // through the engine call it first.
  [[nodiscard]] absl::Status ApplyJournal();

  // Forces a full compaction (expiry runs then); for tests and operators.
  [[nodiscard]] absl::Status CompactAll();
  // Newest event time committed so far: expiry is relative to it, never to the clock.
  int64_t watermark() const { return watermark_->load(); }
  // Approximate bytes of live SST files per column family name.
  std::vector<std::pair<std::string, uint64_t>> DiskUsage();
  uint64_t CountKeys(std::string_view column_family);
  // Size and write-stall gauges for /metrics: (name, value). With
  // write-behind also the journal's: commits not applied yet, and the last
  // apply's keys written and duration.
  std::vector<std::pair<std::string, double>> Gauges();

 private:
  friend class StateBatch;
  enum Cf {
    kMeta = 0,
    kIdentity,
    kBaseline,  // schema 2 only: empty once upgraded (schema_migration.cc)
    kAccountBaseline,
    kTrusted,
    kAlerts,
    kAlertsByTime,
    kAlertsByIdentity,
    kEventLog,
    kAlertTriage,
    kAlertChanges,
    kJournal,  // write-behind: commits not yet applied, by sequence
    kCfCount
  };
  static const char* const kCfNames[kCfCount];
  static constexpr char kSchemaKey[] = "schema_version";

  Database() = default;
  struct TransferRecord {
    int cf;
    std::string key, value;
  };
  // Each account's identities with state (profile, baselines, event log,
  // alerts or trusted networks) in one tenant, from one pass over its keys.
  absl::StatusOr<std::map<std::string, std::set<std::string>>> IdentitiesByAccount(
      std::string_view tenant);
  absl::Status CollectAccount(const AccountRef& account, const std::set<std::string>& identities,
                              std::vector<TransferRecord>& out);
  absl::StatusOr<uint64_t> WriteExport(const AccountRef& account,
                                       const std::set<std::string>& identities,
                                       const std::string& path, bool remove);
  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return handles_[c]; }
  // Reads the identity's event log: its newest record's time (or
  // `out.newest_logged`, when newer), then every record of each kind within
  // reach of it.
  absl::Status LoadEventLog(std::string_view prefix, const engine::LogReach& reach,
                            engine::StoredIdentity& out);
  absl::StatusOr<std::optional<internal::StoredAlert>> ReadAlert(std::string_view tenant,
                                                                 std::string_view alert_id);
  absl::Status LoadOpenAlerts(std::string_view tenant, std::string_view prefix, int64_t from,
                              engine::StoredIdentity& out);
  // Writes the batch (Commit's last step).
  absl::Status Write(StateBatch& batch);
  // Write-behind: writes the batch's alerts and its state changes as one
  // journal value, then hands the changes to the applier (unfolded_).
  absl::Status WriteBehind(const rocksdb::WriteOptions& options, StateBatch& batch);
  // Writes `batch` through WriteRocks; a failure stops writes until RocksDB
  // resumes (Healthy), and is returned as UNAVAILABLE.
  absl::Status WriteChecked(const rocksdb::WriteOptions& options, rocksdb::WriteBatch& batch,
                            std::string_view what);
  // OK when a write may be tried: Healthy() after a failed write, else the
  // disk reserve. Cheap: no RocksDB call but a Resume() at most once a second.
  absl::Status WritesAllowed();
  // Replays the journal a crash left (Open).
  absl::Status ReplayJournal();
  void RunApplier();
  // Writes what `applying` holds in chunks, then deletes journal values [from, to).
  absl::Status ApplyPending(internal::PendingWrites& applying, uint64_t from, uint64_t to);
  // Starts written_owners_ and written_keys_ when no column family keyed by
  // owner holds a key.
  absl::Status StartOwnerFilter();
  // Every write batch goes through here: its owners (and account baselines'
  // keys) are added to written_owners_ (written_keys_) first. (The single Puts
  // elsewhere write kMeta only.)
  absl::Status WriteRocks(const rocksdb::WriteOptions& options, rocksdb::WriteBatch& batch,
                          std::string_view what);
  // False when nothing of `owner` (keys::Identity of an identity or account:
  // its state and its trusted networks) can be on disk: its load reads nothing.
  bool MayHoldOwner(std::string_view owner) const {
    return written_owners_ == nullptr || written_owners_->MayContain(owner);
  }
  // False when the account baseline `key` cannot be on disk.
  bool MayHoldKey(std::string_view key) const {
    return written_keys_ == nullptr || written_keys_->MayContain(key);
  }
  void FillLink(v1::Alert& alert) const;
  // Moves schema 2's profiles and per-network baseline keys (kBaseline) into
  // identity records, then sets the schema version. Resumes where an
  // interrupted run stopped.
  absl::Status MigrateFromSchema2();
  // Sets the schema version of a schema-3 directory: nothing needs moving.
  absl::Status MigrateFromSchema3();
  // Opens the change log: its last sequence and time.
  absl::Status LoadChangeLog();
  // Under changes_mu_: puts the alerts' triage and change entries in `batch`
  // and fills `out`; the caller writes the batch, then calls ChangesWritten.
  absl::Status LogChanges(StateBatch& batch, std::vector<v1::AlertChange>& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(changes_mu_);
  int64_t NextChangeTime() ABSL_EXCLUSIVE_LOCKS_REQUIRED(changes_mu_);
  void ChangesWritten(int64_t last);

  std::unique_ptr<rocksdb::Env> mem_env_;  // in-memory databases only; outlives db_
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_by_id_;  // by RocksDB column family id
  // The owners written since an open that found no owned state (a fresh data
  // directory); null otherwise (storage/internal/owner_filter.h).
  std::unique_ptr<internal::OwnerFilter> written_owners_;
  std::unique_ptr<internal::OwnerFilter> written_keys_;  // kAccountBaseline keys
  std::vector<internal::KeyShape> key_shapes_;           // by RocksDB column family id
  std::shared_ptr<std::atomic<int64_t>> watermark_ = std::make_shared<std::atomic<int64_t>>(0);
  bool sync_ = false;
  bool wal_ = true;
  std::string path_;
  uint64_t disk_reserve_bytes_ = 0;  // 0: no check (in memory)
  // UNAVAILABLE when the disk's free space is below disk_reserve_bytes_.
  absl::Status CheckDiskRoom() const;
  std::shared_ptr<HealthListener> health_;

  // The change log. Alert changes are logged and their sequence assigned under
  // changes_mu_ (commits that write alerts, UpdateAlert), so sequences are
  // written in order; commits without alerts never take it.
  std::string link_template_;
  engine::Mutex changes_mu_;
  int64_t last_sequence_ ABSL_GUARDED_BY(changes_mu_) = 0;
  int64_t last_change_ms_ ABSL_GUARDED_BY(changes_mu_) = 0;
  std::atomic<int64_t> written_sequence_{0};       // the last sequence readers may see
  std::atomic<int64_t> log_starts_ms_{INT64_MIN};  // changes before this were pruned
  engine::Mutex listeners_mu_;
  std::vector<std::pair<int, std::function<void(int64_t)>>> listeners_
      ABSL_GUARDED_BY(listeners_mu_);
  int next_listener_ ABSL_GUARDED_BY(listeners_mu_) = 0;

  // Write-behind (Options::write_behind). Commits append journal values and
  // queue their state batches (unfolded_) under pending_mu_, in commit order;
  // ApplyJournal (one at a time, under apply_mu_, on the applier thread at
  // nice 10) takes the queue, folds it into folded_ outside pending_mu_,
  // writes that in key order, and deletes the journal values it covers.
  static constexpr size_t kApplyChunk = 100;  // keys per write when applying
  bool write_behind_ = false;
  std::chrono::milliseconds apply_every_{1000};
  std::shared_ptr<rocksdb::MergeOperator> identity_merge_;
  std::vector<bool> journaled_;  // by column family id: a StateBatch's state
  engine::Mutex apply_mu_;       // taken before pending_mu_, never after
  engine::Mutex pending_mu_;
  // Commits' state batches, not folded yet ([0, unfolded_count_); the rest
  // are emptied batches kept for reuse).
  std::vector<std::unique_ptr<rocksdb::WriteBatch>> unfolded_ ABSL_GUARDED_BY(pending_mu_);
  size_t unfolded_count_ ABSL_GUARDED_BY(pending_mu_) = 0;
  std::vector<std::unique_ptr<rocksdb::WriteBatch>> folding_ ABSL_GUARDED_BY(apply_mu_);
  // Folded, not applied yet (what the applier is writing, or what it failed to).
  std::unique_ptr<internal::PendingWrites> folded_ ABSL_GUARDED_BY(apply_mu_);
  uint64_t next_journal_ ABSL_GUARDED_BY(pending_mu_) = 0;     // the next journal value's key
  uint64_t pending_journal_ ABSL_GUARDED_BY(pending_mu_) = 0;  // the first not applied
  // The oldest engine batch not applied yet (queued or folded); UINT64_MAX: none.
  uint64_t pending_epoch_ ABSL_GUARDED_BY(pending_mu_) = UINT64_MAX;
  // The oldest engine batch whose changes are not applied (AppliedBelow).
  std::atomic<uint64_t> unapplied_from_{UINT64_MAX};
  // For Gauges: the journal values applied (all below this), and the last
  // successful apply's keys and duration.
  std::atomic<uint64_t> applied_journal_{0};
  std::atomic<uint64_t> last_apply_keys_{0};
  std::atomic<int64_t> last_apply_us_{0};
  // Set when the engine drops its cache to read state back (ReadingBack):
  // what is pending must be applied first (the next load applies it).
  std::atomic<bool> must_apply_{false};
  absl::Status EnsureApplied();
  engine::Mutex applier_mu_;
  bool stop_applier_ ABSL_GUARDED_BY(applier_mu_) = false;
  std::thread applier_;

  static constexpr size_t kPooledBatches = 16;
  engine::Mutex batches_mu_;  // taken once per transaction, never per event
  std::vector<std::unique_ptr<StateBatch>> batches_ ABSL_GUARDED_BY(batches_mu_);

  // Why writes stopped; ok while they go through. Guarded by health_mu_.
  std::atomic<bool> failed_{false};
  engine::Mutex health_mu_;
  absl::Status failure_ ABSL_GUARDED_BY(health_mu_);
  int64_t last_resume_ms_ ABSL_GUARDED_BY(health_mu_) = 0;
  std::string last_resume_error_ ABSL_GUARDED_BY(health_mu_);
  // Set for good when the journal's pending writes no longer match the
  // journal (a fold failed): no resume clears it, only a restart (which
  // replays the journal).
  bool journal_damaged_ ABSL_GUARDED_BY(health_mu_) = false;
};

}  // namespace trailsentry::storage

#endif  // TRAILSENTRY_STORAGE_DATABASE_H_
