#include "storage/database.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert_proto.h"
#include "server/engine/engine.h"
#include "storage/internal/codec.h"
#include "storage/internal/identity_record.h"
#include "storage/internal/owner_prefix.h"
#include "storage/internal/rocksdb_log.h"
#include "storage/keys.h"

namespace trailsentry::storage {
namespace {

namespace fs = std::filesystem;
using internal::DecodeEntry;
using internal::EncodeEntry;
using internal::FromRocks;

constexpr char kWatermarkKey[] = "watermark";
// The size at which a column family's memtable is flushed (at most).
constexpr size_t kWriteBufferBytes = size_t{4} << 20;

// Drops baseline entries whose last seen is so far behind the newest committed
// event time that no event the engine still judges can find them known: results
// never depend on when compaction runs.
class ExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  ExpiryFilter(std::shared_ptr<std::atomic<int64_t>> watermark, int64_t keep_ms)
      : watermark_(std::move(watermark)), keep_ms_(keep_ms) {}
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    const std::optional<engine::BaselineEntry> e = DecodeEntry(value.ToStringView());
    const int64_t mark = watermark_->load();
    return e && mark > 0 && e->last_seen < mark - keep_ms_;
  }
  const char* Name() const override { return "trailsentry.ExpiryFilter"; }

 private:
  std::shared_ptr<std::atomic<int64_t>> watermark_;
  int64_t keep_ms_;
};

// How long behind the watermark an identity record keeps its networks (since
// last seen) and its seen events.
struct RecordKeep {
  int64_t networks_ms = 0;
  int64_t seen_ms = 0;
};

// Drops from identity records (values and merge operands alike) the networks
// last seen before the watermark less `keep.networks_ms`, as ExpiryFilter drops
// account baselines, and the seen events before it less `keep.seen_ms`; a
// record left with nothing goes.
class RecordExpiryFilter final : public rocksdb::CompactionFilter {
 public:
  RecordExpiryFilter(std::shared_ptr<std::atomic<int64_t>> watermark, RecordKeep keep)
      : watermark_(std::move(watermark)), keep_(keep) {}
  Decision FilterV2(int, const rocksdb::Slice&, ValueType type, const rocksdb::Slice& value,
                    std::string* new_value, std::string*) const override {
    const int64_t mark = watermark_->load();
    if (type == ValueType::kBlobIndex || mark <= 0) return Decision::kKeep;
    internal::IdentityRecord record;
    if (!internal::DecodeRecord(value.ToStringView(), record)) {
      return Decision::kKeep;  // a damaged record is left for its read to report
    }
    const bool networks = internal::DropNetworksSeenBefore(record, mark - keep_.networks_ms);
    if (!internal::DropSeenBefore(record, mark - keep_.seen_ms) && !networks) {
      return Decision::kKeep;
    }
    if (!record.profile && record.networks.empty() && record.seen.empty()) {
      return Decision::kRemove;
    }
    new_value->clear();
    internal::EncodeRecord(record, *new_value);
    return Decision::kChangeValue;
  }
  const char* Name() const override { return "trailsentry.RecordExpiryFilter"; }

 private:
  std::shared_ptr<std::atomic<int64_t>> watermark_;
  RecordKeep keep_;
};

// Drops event-log records too old for the engine to read back (keys carry the
// kind and the time; each kind has its own reach).
class EventLogExpiry final : public rocksdb::CompactionFilter {
 public:
  EventLogExpiry(std::shared_ptr<std::atomic<int64_t>> watermark, engine::LogReach keep)
      : watermark_(std::move(watermark)), keep_(keep) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*,
              bool*) const override {
    std::optional<keys::EventLogKey> k = keys::ParseEventLogKey(key.ToStringView());
    const int64_t mark = watermark_->load();
    if (!k || mark <= 0) return false;
    const int64_t keep = k->kind == engine::LogKind::kSeen    ? keep_.seen_ms
                         : k->kind == engine::LogKind::kBurst ? keep_.burst_ms
                                                              : keep_.alerts_ms;
    return k->time < mark - keep;
  }
  const char* Name() const override { return "trailsentry.EventLogExpiry"; }

 private:
  std::shared_ptr<std::atomic<int64_t>> watermark_;
  engine::LogReach keep_;
};

// Makes a `Filter(watermark, keep)` for each compaction.
template <typename Filter, typename Keep>
class ExpiryFactory final : public rocksdb::CompactionFilterFactory {
 public:
  ExpiryFactory(const char* name, std::shared_ptr<std::atomic<int64_t>> watermark, Keep keep)
      : name_(name), watermark_(std::move(watermark)), keep_(keep) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context&) override {
    return std::make_unique<Filter>(watermark_, keep_);
  }
  const char* Name() const override { return name_; }

 private:
  const char* name_;
  std::shared_ptr<std::atomic<int64_t>> watermark_;
  Keep keep_;
};

// A journal value's key: its sequence, big-endian (key order is commit order).
std::string JournalKey(uint64_t sequence) {
  std::string out;
  keys::AppendBigEndian64(out, sequence);
  return out;
}

// Splits a write batch by column family id: `journaled[id]` families' writes
// to `state`, the others' to `direct`.
class JournalSplit final : public rocksdb::WriteBatch::Handler {
 public:
  JournalSplit(const std::vector<rocksdb::ColumnFamilyHandle*>& families,
               const std::vector<bool>& journaled, rocksdb::WriteBatch& state,
               rocksdb::WriteBatch& direct)
      : families_(families), journaled_(journaled), state_(state), direct_(direct) {}

  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    return To(cf).Put(families_[cf], key, value);
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
    return To(cf).Delete(families_[cf], key);
  }
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    return To(cf).Merge(families_[cf], key, value);
  }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice& begin,
                                const rocksdb::Slice& end) override {
    return To(cf).DeleteRange(families_[cf], begin, end);
  }
  void LogData(const rocksdb::Slice&) override {}

 private:
  rocksdb::WriteBatch& To(uint32_t cf) const {
    return cf < journaled_.size() && journaled_[cf] ? state_ : direct_;
  }
  const std::vector<rocksdb::ColumnFamilyHandle*>& families_;
  const std::vector<bool>& journaled_;
  rocksdb::WriteBatch& state_;
  rocksdb::WriteBatch& direct_;
};

std::string EncodeWatermark(int64_t t) {
  std::string out;
  keys::AppendBigEndian64(out, static_cast<uint64_t>(t));
  return out;
}

}  // namespace

// What RocksDB says of its background errors: whether it is recovering by
// itself (a full disk: it polls for room and resumes) or needs Resume().
class HealthListener final : public rocksdb::EventListener {
 public:
  enum State : uint8_t { kOk, kRecovering, kStopped };
  State state() const { return state_.load(std::memory_order_acquire); }

  void OnBackgroundError(rocksdb::BackgroundErrorReason, rocksdb::Status* error) override {
    if (error != nullptr && !error->ok()) state_.store(kStopped, std::memory_order_release);
  }
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    if (auto_recovery != nullptr && *auto_recovery) {
      state_.store(kRecovering, std::memory_order_release);
    }
  }
  void OnErrorRecoveryEnd(const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    state_.store(info.new_bg_error.ok() ? kOk : kStopped, std::memory_order_release);
  }

 private:
  std::atomic<State> state_{kOk};
};

const char* const Database::kCfNames[kCfCount] = {
    "default",   "identity",     "baseline",       "account_baseline",
    "trusted",   "alerts",       "alerts_by_time", "alerts_by_identity",
    "event_log", "alert_triage", "alert_changes",  "journal"};

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const Options& options) {
  if (options.config == nullptr) return absl::InvalidArgumentError("Database::Open: no config");
  // Below this address-space limit RocksDB cannot start its threads and aborts
  // inside its own code: refuse up front, with the reason.
  constexpr rlim_t kMinAddressSpace = rlim_t{512} << 20;
  if (struct rlimit as; getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY &&
                        as.rlim_cur < kMinAddressSpace) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the address-space limit (ulimit -v) is ", as.rlim_cur >> 20,
                     " MiB; the database needs at least ", kMinAddressSpace >> 20,
                     " MiB for its threads and caches"));
  }
  std::unique_ptr<Database> db(new Database());
  const bool in_memory = options.path.empty();
  // An in-memory database lives in its own Env under a fixed name.
  const std::string db_path = in_memory ? "/trailsentry-in-memory" : options.path;
  const fs::path path(db_path);
  std::error_code ec;
  bool existed = false;
  if (in_memory) {
    db->mem_env_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  } else {
    existed = fs::exists(path / "CURRENT", ec);
    if (!existed && fs::exists(path, ec) && !fs::is_empty(path, ec)) {
      return absl::FailedPreconditionError(absl::StrCat(
          options.path, " is not a trailsentry data directory: it holds files but no database"));
    }
    fs::create_directories(path, ec);
    if (ec) return absl::UnavailableError(absl::StrCat(options.path, ": ", ec.message()));
  }

  db->sync_ = options.sync;
  db->path_ = options.path;
  db->wal_ = options.wal;
  const auto& u = options.config->unusual_ip;
  // Keep entries a day longer than any judged event could need.
  const int64_t keep_ms = absl::ToInt64Milliseconds(u.history + options.config->max_lateness +
                                                    u.settle + absl::Hours(24));

  rocksdb::DBOptions db_options;
  if (in_memory) db_options.env = db->mem_env_.get();
  if (!in_memory && options.env != nullptr) db_options.env = options.env;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  // Compactions yield the CPU to requests: they run at the lowest CPU priority
  // (nice 19), so a request never waits behind one for a core; they catch up
  // in idle time, and if they fall far behind, RocksDB slows writes itself.
  // Flushes keep normal priority (they must keep up with writes).
  // Lowering needs no privilege, but a sandbox (seccomp) may forbid it: then
  // compactions keep normal priority, and the log says so once.
  static const bool kLowered = [] {
    const rocksdb::Status s = rocksdb::Env::Default()->LowerThreadPoolCPUPriority(
        rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kLow);
    if (!s.ok()) {
      spdlog::warn("storage: compactions keep normal CPU priority (lowering it failed: {})",
                   s.ToString());
    }
    return s.ok();
  }();
  (void)kLowered;
  // RocksDB's LOG, written by trailsentry: RocksDB's own logger aborts the
  // process on its next line after the disk was full once.
  absl::StatusOr<std::shared_ptr<internal::RocksDbLog>> rocksdb_log =
      internal::RocksDbLog::Open(options.path);
  if (!rocksdb_log.ok()) return rocksdb_log.status();
  db_options.info_log = *std::move(rocksdb_log);
  db_options.keep_log_file_num = 5;
  // Acknowledged commits are in the WAL. Its last record may be cut short by a
  // crash inside its append (kill -9, the OOM killer): that commit never
  // returned, so nothing acknowledged is lost by dropping it. Damage anywhere
  // else is refused, never silently cut short (see Repair).
  db_options.wal_recovery_mode = options.salvage_wal
                                     ? rocksdb::WALRecoveryMode::kPointInTimeRecovery
                                     : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  // Memory is bounded: all memtables together flush past memtable_bytes.
  const auto& server = options.config->server;
  db_options.write_buffer_manager =
      std::make_shared<rocksdb::WriteBufferManager>(static_cast<size_t>(server.memtable_bytes));
  // The WAL too: past 4 x memtable_bytes of WAL files, the column families
  // holding the oldest one are flushed and it is deleted. Left to RocksDB's
  // bound (4 x every memtable that could exist: 1.25 GiB with the default),
  // one alert in a column family that is rarely written keeps every WAL file
  // written since (the bound was reached within 3 minutes at 300 requests/s:
  // BENCHMARKS.md, twenty-first part), all of it replayed at the next open.
  db_options.max_total_wal_size = 4 * static_cast<uint64_t>(server.memtable_bytes);
  db->health_ = std::make_shared<HealthListener>();
  db_options.listeners.push_back(db->health_);
  db->disk_reserve_bytes_ = in_memory ? 0 : static_cast<uint64_t>(server.disk_reserve_bytes);
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(server.block_cache_bytes));
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Small memtables, many level-0 files. A column family's memtable flushes at
  // 4 MiB, where a skip-list insert walks fewer levels and stays in cache
  // (BENCHMARKS.md, eighteenth part). Up to 4 of them wait for their flush
  // before writes stop (one commit of a backfill can fill two). Level 0 is
  // compacted at 16 files, so each compaction into level 1 still takes 64
  // MiB, as 4 files of 16 MiB did with the default memtable_bytes before: no
  // more compaction than then. Reads check up to 16 level-0 files (their Bloom
  // filters) instead of 4. Writes slow down at 48 and stop at 72 files.
  cf_options.write_buffer_size =
      std::min<size_t>(kWriteBufferBytes, static_cast<size_t>(server.memtable_bytes) / 4);
  cf_options.max_write_buffer_number = 4;
  cf_options.level0_file_num_compaction_trigger = 16;
  cf_options.level0_slowdown_writes_trigger = 48;
  cf_options.level0_stop_writes_trigger = 72;
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.bottommost_compression = rocksdb::kZSTD;
  // Column families keyed by owner (tenant | identity or account): Bloom filters
  // of owners in memtables and SST files (storage/internal/owner_prefix.h).
  rocksdb::ColumnFamilyOptions by_owner = cf_options;
  by_owner.prefix_extractor = internal::NewOwnerPrefix();
  by_owner.memtable_prefix_bloom_size_ratio = 0.05;
  by_owner.memtable_whole_key_filtering = true;
  rocksdb::ColumnFamilyOptions expiring = by_owner;
  expiring.compaction_filter_factory = std::make_shared<ExpiryFactory<ExpiryFilter, int64_t>>(
      "trailsentry.ExpiryFilterFactory", db->watermark_, keep_ms);
  // Identity records: merged (internal/identity_record.h), their networks and
  // seen events expiring. Seen events, like the event log's records, are kept
  // a day longer than the engine reads them.
  const engine::LogReach reach = engine::Engine::Reach(*options.config);
  const int64_t day = absl::ToInt64Milliseconds(absl::Hours(24));
  rocksdb::ColumnFamilyOptions records = by_owner;
  records.merge_operator = internal::NewIdentityRecordMerge(reach.seen_ms);
  db->identity_merge_ = records.merge_operator;
  records.compaction_filter_factory =
      std::make_shared<ExpiryFactory<RecordExpiryFilter, RecordKeep>>(
          "trailsentry.RecordExpiryFilterFactory", db->watermark_,
          RecordKeep{keep_ms, reach.seen_ms + day});

  if (existed) {
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, db_path, &names);
    if (!s.ok()) return FromRocks(s, absl::StrCat("reading ", options.path));
    for (const std::string& name : names) {
      if (std::find_if(std::begin(kCfNames), std::end(kCfNames),
                       [&](const char* n) { return name == n; }) == std::end(kCfNames)) {
        return absl::FailedPreconditionError(absl::StrCat(
            options.path, " was written by another trailsentry schema (unknown column family \"",
            name, "\"); this build reads schema version ", kSchemaVersion,
            ". Use the build that wrote it, or rebuild the directory by replaying CloudTrail with "
            "`trailsentry scan`."));
      }
    }
  }
  // Each kind of event-log record is kept a day longer than the engine reads it.
  rocksdb::ColumnFamilyOptions event_log = by_owner;
  event_log.compaction_filter_factory =
      std::make_shared<ExpiryFactory<EventLogExpiry, engine::LogReach>>(
          "trailsentry.EventLogExpiryFactory", db->watermark_,
          engine::LogReach{reach.seen_ms + day, reach.burst_ms + day, reach.alerts_ms + day});
  // The journal: values written once and deleted within a second or so; a
  // memtable large enough that most are deleted before it is flushed.
  rocksdb::ColumnFamilyOptions journal = cf_options;
  journal.write_buffer_size =
      std::min<size_t>(32 << 20, static_cast<size_t>(server.memtable_bytes) / 2);
  journal.compression = rocksdb::kNoCompression;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.reserve(kCfCount);
  for (int i = 0; i < kCfCount; ++i) {
    descriptors.emplace_back(kCfNames[i], i == kJournal                              ? journal
                                          : i == kIdentity                           ? records
                                          : i == kAccountBaseline                    ? expiring
                                          : i == kEventLog                           ? event_log
                                          : i == kBaseline || i == kAlertsByIdentity ? by_owner
                                                                                     : cf_options);
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  try {
    s = rocksdb::DB::Open(db_options, db_path, descriptors, &db->handles_, &raw);
  } catch (const std::exception& e) {  // RocksDB starts threads and allocates
    return absl::ResourceExhaustedError(absl::StrCat(
        "opening ", options.path, ": ", e.what(), " (out of memory, threads or address space?)"));
  }
  if (!s.ok() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.path,
        " is in use by another process (a running trailsentryd or scan?): ", s.ToString()));
  }
  if (!s.ok() && s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(
        options.path, " is damaged (", s.ToString(),
        "). trailsentryd does not start on it: acknowledged alerts and state may be in the "
        "damaged part. To go on, stop everything using it, then either run `trailsentry admin "
        "repair --data_dir ",
        options.path,
        "` (keeps a copy of it, replays what is intact, and says from which event time to "
        "re-send CloudTrail), or restore a backup with `trailsentry admin restore`."));
  }
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening ", options.path));
  db->db_.reset(raw);
  std::vector<const rocksdb::MergeOperator*> merge;
  for (rocksdb::ColumnFamilyHandle* h : db->handles_) {
    const uint32_t id = h->GetID();
    if (db->handles_by_id_.size() <= id) {
      db->handles_by_id_.resize(id + 1, nullptr);
      merge.resize(id + 1, nullptr);
    }
    db->handles_by_id_[id] = h;
  }
  merge[db->handles_[kIdentity]->GetID()] = db->identity_merge_.get();
  // What a StateBatch writes of state (the rest is its alerts).
  db->journaled_.assign(db->handles_by_id_.size(), false);
  for (const Cf c : {kMeta, kIdentity, kAccountBaseline, kTrusted, kEventLog}) {
    db->journaled_[db->handles_[c]->GetID()] = true;
  }
  {
    // Nothing else can see db yet; the lock is for the analysis.
    engine::MutexLock lock(&db->apply_mu_);
    db->folded_ = std::make_unique<internal::PendingWrites>(merge);
  }

  std::string version;
  s = db->db_->Get(rocksdb::ReadOptions(), db->cf(kMeta), kSchemaKey, &version);
  if (s.IsNotFound()) {
    if (existed) {
      return absl::FailedPreconditionError(
          absl::StrCat(options.path,
                       " holds a RocksDB database without a trailsentry schema version; refusing "
                       "to read it"));
    }
    s = db->db_->Put(rocksdb::WriteOptions(), db->cf(kMeta), kSchemaKey,
                     std::to_string(kSchemaVersion));
    if (!s.ok()) return FromRocks(s, "writing schema version");
  } else if (!s.ok()) {
    return FromRocks(s, "reading schema version");
  } else if (version == "2" || version == "3") {
    absl::Status st = version == "2" ? db->MigrateFromSchema2() : db->MigrateFromSchema3();
    if (!st.ok()) {
      return absl::Status(st.code(),
                          absl::StrCat("upgrading ", options.path, " from schema version ", version,
                                       " to ", kSchemaVersion, ": ", st.message()));
    }
  } else if (version != std::to_string(kSchemaVersion)) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.path, " was written by trailsentry schema version ", version,
        "; this build reads version ", kSchemaVersion,
        " and has no migration from it. Use the build that wrote it, or rebuild the directory by "
        "replaying CloudTrail with `trailsentry scan`."));
  }
  if (absl::Status st = db->ReplayJournal(); !st.ok()) {
    return absl::Status(
        st.code(), absl::StrCat("replaying the journal of ", options.path, ": ", st.message()));
  }
  std::string mark;
  s = db->db_->Get(rocksdb::ReadOptions(), db->cf(kMeta), kWatermarkKey, &mark);
  if (s.ok() && mark.size() == 8) {
    db->watermark_->store(static_cast<int64_t>(keys::ReadBigEndian64(mark)));
  }
  if (absl::Status st = db->StartOwnerFilter(); !st.ok()) return st;
  db->link_template_ = options.config->server.alerts.link_template;
  if (absl::Status st = db->LoadChangeLog(); !st.ok()) return st;
  db->write_behind_ = options.write_behind;
  db->apply_every_ = absl::ToChronoMilliseconds(options.apply_every);
  if (db->write_behind_) db->applier_ = std::thread([d = db.get()] { d->RunApplier(); });
  return db;
}

Database::~Database() {
  if (applier_.joinable()) {
    {
      engine::MutexLock lock(&applier_mu_);
      stop_applier_ = true;
      applier_mu_.NotifyAll();
    }
    applier_.join();
  }
  if (write_behind_ && db_) {
    // Left unapplied (the disk failed), the journal is replayed at the next open.
    if (absl::Status s = ApplyJournal(); !s.ok()) {
      spdlog::error("storage: the journal is replayed at the next start: {}",
                    std::string(s.message()));
    }
  }
  if (db_) {
    if (!wal_) {
      rocksdb::FlushOptions flush;
      db_->Flush(flush, handles_);
    }
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }
}

StateBatch::StateBatch(Database& db) : db_(db), batch_(std::make_unique<rocksdb::WriteBatch>()) {}
StateBatch::~StateBatch() = default;

std::unique_ptr<StateBatch> Database::TakeBatch() {
  {
    engine::MutexLock lock(&batches_mu_);
    if (!batches_.empty()) {
      std::unique_ptr<StateBatch> batch = std::move(batches_.back());
      batches_.pop_back();
      return batch;
    }
  }
  return std::make_unique<StateBatch>(*this);
}

void Database::GiveBackBatch(std::unique_ptr<StateBatch> batch) {
  if (batch == nullptr || &batch->db_ != this) return;
  batch->Reset();
  batch->committed_.clear();
  engine::MutexLock lock(&batches_mu_);
  if (batches_.size() < kPooledBatches) batches_.push_back(std::move(batch));
}

void StateBatch::Reset() {
  batch_->Clear();
  coalesced_.Clear();
  alerts_.clear();
  writes_ = 0;
  newest_ = INT64_MIN;
}

void StateBatch::PutLatest(int cf, const internal::Owner& owner, const engine::Network* network,
                           const engine::BaselineEntry& entry) {
  coalesced_.PutLatest(static_cast<char>(cf), owner,
                       network != nullptr ? keys::EncodeNetwork(*network) : keys::NetworkBytes{},
                       entry);
  newest_ = std::max(newest_, entry.last_seen);
  ++writes_;
}

void StateBatch::WillObserve(std::string_view tenant, std::string_view identity,
                             std::string_view account, const engine::Network& network) {
  const keys::NetworkBytes net = keys::EncodeNetwork(network);
  const internal::Owner who = identity_.Of(tenant, identity);
  coalesced_.Prefetch(Database::kIdentity, who, keys::NetworkBytes{});
  coalesced_.Prefetch(Database::kIdentity, who, net);
  coalesced_.PrefetchSeen(who);
  coalesced_.Prefetch(Database::kAccountBaseline, account_.Of(tenant, account), net);
}

void StateBatch::PutProfile(std::string_view tenant, std::string_view identity,
                            const engine::IdentityProfile& profile) {
  PutLatest(Database::kIdentity, identity_.Of(tenant, identity), nullptr, profile);
}

void StateBatch::PutBaseline(std::string_view tenant, std::string_view identity,
                             const engine::Network& network, const engine::BaselineEntry& entry) {
  // With the profile, in the identity's record (internal/identity_record.h).
  PutLatest(Database::kIdentity, identity_.Of(tenant, identity), &network, entry);
}

void StateBatch::PutAccountBaseline(std::string_view tenant, std::string_view account,
                                    const engine::Network& network,
                                    const engine::BaselineEntry& entry) {
  PutLatest(Database::kAccountBaseline, account_.Of(tenant, account), &network, entry);
}

void StateBatch::PutAlert(const engine::Alert& alert) {
  // Written at Commit, once per alert however often the batch changed it, with
  // its triage and its change log entry.
  PendingAlert& pending = alerts_[keys::Alert(alert.tenant, alert.alert_id)];
  pending.proto.Clear();
  engine::ToProto(alert, &pending.proto);
  pending.event_times.clear();
  pending.event_times.reserve(alert.event_ids.size());
  for (const auto& [time, id] : alert.event_ids) pending.event_times.push_back(time);
  pending.opened_at = alert.opened_at;
  newest_ = std::max(newest_, alert.last_event_time);
  ++writes_;
}

void StateBatch::PutTrusted(std::string_view tenant, engine::TrustScope scope,
                            std::string_view name, const engine::TrustedNetwork& trusted) {
  // Value: until, added_at (big-endian); an empty value (older directories) is
  // trusted forever.
  std::string value;
  keys::AppendBigEndian64(value, static_cast<uint64_t>(trusted.until));
  keys::AppendBigEndian64(value, static_cast<uint64_t>(trusted.added_at));
  batch_->Put(db_.cf(Database::kTrusted), keys::Trusted(tenant, scope, name, trusted.network),
              value);
  ++writes_;
}

void StateBatch::DeleteTrusted(std::string_view tenant, engine::TrustScope scope,
                               std::string_view name, const engine::Network& network) {
  batch_->Delete(db_.cf(Database::kTrusted), keys::Trusted(tenant, scope, name, network));
  ++writes_;
}

void StateBatch::PutEvent(std::string_view tenant, std::string_view identity,
                          const engine::EventLogEntry& e) {
  newest_ = std::max(newest_, e.time);
  ++writes_;
  if (e.kind == engine::LogKind::kSeen) {
    // An identity's seen events go in its record's merge operand at Commit.
    coalesced_.AddSeen(identity_.Of(tenant, identity), e.time, e.id_hash);
    return;
  }
  std::string value;
  if (e.fields != nullptr) {
    const engine::AlertEventFields& f = *e.fields;
    for (std::string_view part :
         {f.event_id, f.action, f.provider, f.source_ip, f.region, f.user_agent, f.access_key_id,
          f.account, e.identity_type, e.user_name}) {
      keys::AppendComponent(value, part);
    }
  }
  batch_->Put(db_.cf(Database::kEventLog),
              keys::EventLog(tenant, identity, e.kind, e.time, e.id_hash), value);
}

void StateBatch::DeleteEvent(std::string_view tenant, std::string_view identity,
                             engine::LogKind kind, engine::EventTime time, uint64_t id_hash) {
  batch_->Delete(db_.cf(Database::kEventLog),
                 keys::EventLog(tenant, identity, kind, time, id_hash));
  ++writes_;
}

void StateBatch::DeleteIdentity(std::string_view tenant, std::string_view identity) {
  const std::string prefix = keys::Identity(tenant, identity);
  // What this batch wrote of the identity before is dropped with it.
  coalesced_.Drop(identity_.Of(tenant, identity),
                  [](char cf) { return cf == Database::kIdentity; });
  batch_->Delete(db_.cf(Database::kIdentity), prefix);
  const std::string trusted = keys::TrustedPrefix(tenant, engine::TrustScope::kIdentity, identity);
  batch_->DeleteRange(db_.cf(Database::kTrusted), trusted, keys::PrefixEnd(trusted));
  batch_->DeleteRange(db_.cf(Database::kEventLog), prefix, keys::PrefixEnd(prefix));
  ++writes_;
}

absl::Status Database::Commit(StateBatch& batch) {
  if (batch.writes_ == 0) return absl::OkStatus();
  // Written in key order (CoalescedWrites). An identity's profile, seen events
  // and networks go in one merge operand of its record (the profile first: no
  // network sorts before it); account baselines one key each. The seen events
  // are gathered first, in identity key order, then joined with the records.
  auto& seen_owners = batch.seen_owners_;
  auto& seen = batch.seen_;
  seen_owners.clear();
  seen.clear();
  batch.coalesced_.ForEachSeen(
      [&](std::string_view identity_key, std::span<const internal::SeenEvent> events) {
        seen_owners.push_back({identity_key, seen.size(), events.size()});
        seen.insert(seen.end(), events.begin(), events.end());
      });
  size_t next_seen = 0;
  // The seen events of `identity_key`, when it is the next identity that has some.
  auto take_seen = [&](std::string_view identity_key) {
    if (next_seen == seen_owners.size() || seen_owners[next_seen].key != identity_key) {
      return std::span<const internal::SeenEvent>();
    }
    const StateBatch::SeenOwner& o = seen_owners[next_seen++];
    return std::span<const internal::SeenEvent>(seen).subspan(o.offset, o.size);
  };
  std::string& value = batch.value_;
  std::string& owner = batch.owner_;
  // The records of identities with seen events and nothing else in this batch,
  // up to `until` (exclusive; nullopt: all that are left).
  auto write_seen_only = [&](std::optional<std::string_view> until) {
    while (next_seen < seen_owners.size() && (!until || seen_owners[next_seen].key < *until)) {
      const std::string_view identity_key = seen_owners[next_seen].key;
      value.clear();
      internal::AppendRecordStart(value, nullptr, take_seen(identity_key));
      batch.batch_->Merge(cf(kIdentity), identity_key, value);
    }
  };
  auto write_record = [&] {
    if (!owner.empty()) batch.batch_->Merge(cf(kIdentity), owner, value);
    owner.clear();
  };
  std::string& key = batch.key_;
  batch.coalesced_.ForEachLatest([&](const internal::LatestKey& k,
                                     const engine::BaselineEntry& entry) {
    if (k.cf != kIdentity) {
      write_record();  // the last identity's: identity records come first
      write_seen_only(std::nullopt);
      key.assign(k.owner);
      key.append(k.network);
      value.clear();
      internal::AppendEntry(value, entry);
      batch.batch_->Put(cf(static_cast<Cf>(k.cf)), key, value);
      return;
    }
    if (k.owner != owner) {
      write_record();
      write_seen_only(k.owner);
      owner.assign(k.owner);
      value.clear();
      internal::AppendRecordStart(value, k.network.empty() ? &entry : nullptr, take_seen(k.owner));
      if (k.network.empty()) return;
    }
    internal::AppendRecordNetwork(value, k.network, entry);
  });
  write_record();
  write_seen_only(std::nullopt);
  if (batch.newest_ > watermark_->load()) {
    batch.batch_->Put(cf(kMeta), kWatermarkKey, EncodeWatermark(batch.newest_));
  }
  batch.committed_.clear();
  if (batch.alerts_.empty()) return Write(batch);
  int64_t last = 0;
  absl::Status s;
  {
    engine::MutexLock lock(&changes_mu_);
    const int64_t before = last_sequence_, before_ms = last_change_ms_;
    s = LogChanges(batch, batch.committed_);
    if (s.ok()) {
      s = Write(batch);
    } else {
      batch.Reset();
    }
    if (!s.ok()) {
      last_sequence_ = before;  // nothing of the batch was written
      last_change_ms_ = before_ms;
      batch.committed_.clear();
    }
    last = last_sequence_;
  }
  if (s.ok()) ChangesWritten(last);
  return s;
}

absl::Status Database::Write(StateBatch& batch) {
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  wo.disableWAL = !wal_;
  absl::Status s =
      write_behind_ ? WriteBehind(wo, batch) : WriteChecked(wo, *batch.batch_, "committing state");
  if (s.ok()) {
    int64_t cur = watermark_->load();
    while (batch.newest_ > cur && !watermark_->compare_exchange_weak(cur, batch.newest_)) {
    }
  }
  // Committed or not, the batch starts empty again: after a failure the engine
  // drops its cache, so nothing of it may be written later.
  batch.Reset();
  return s;
}

absl::Status Database::WriteChecked(const rocksdb::WriteOptions& options,
                                    rocksdb::WriteBatch& batch, std::string_view what) {
  absl::Status s = WritesAllowed();
  if (!s.ok()) return s;
  s = WriteRocks(options, batch, what);
  if (s.ok()) return s;
  engine::MutexLock lock(&health_mu_);
  if (!failed_.load(std::memory_order_relaxed)) {
    failure_ = s;
    last_resume_ms_ = absl::ToUnixMillis(absl::Now());
    failed_.store(true, std::memory_order_release);
    spdlog::error("storage: writes stopped until the disk has room: {}", std::string(s.message()));
  }
  return absl::UnavailableError(
      absl::StrCat(s.message(), " (writes stop until the disk has room again; retry the request)"));
}

absl::Status Database::WritesAllowed() {
  // After a failed write RocksDB must not be written again until resumed (its
  // log writer asserts on a second append after an error).
  return failed_.load(std::memory_order_acquire) ? Healthy() : CheckDiskRoom();
}

absl::Status Database::WriteBehind(const rocksdb::WriteOptions& options, StateBatch& batch) {
  if (batch.state_ == nullptr) {
    batch.state_ = std::make_unique<rocksdb::WriteBatch>();
    batch.direct_ = std::make_unique<rocksdb::WriteBatch>();
  }
  rocksdb::WriteBatch& direct = *batch.direct_;
  batch.state_->Clear();
  direct.Clear();
  JournalSplit split(handles_by_id_, journaled_, *batch.state_, direct);
  if (rocksdb::Status rs = batch.batch_->Iterate(&split); !rs.ok()) {
    return FromRocks(rs, "journaling state");
  }
  engine::MutexLock lock(&pending_mu_);
  const bool journaled = batch.state_->Count() > 0;
  if (journaled) direct.Put(cf(kJournal), JournalKey(next_journal_), batch.state_->Data());
  absl::Status s = WriteChecked(options, direct, "committing state");
  if (!s.ok() || !journaled) return s;
  ++next_journal_;
  if (pending_epoch_ == UINT64_MAX) {
    pending_epoch_ = batch.epoch();
    uint64_t cur = unapplied_from_.load();
    while (pending_epoch_ < cur && !unapplied_from_.compare_exchange_weak(cur, pending_epoch_)) {
    }
  }
  // The applier folds it: the batch is handed over, and the StateBatch takes
  // an emptied one back (no copy, no allocation once the pool is warm).
  if (unfolded_count_ == unfolded_.size()) unfolded_.push_back(nullptr);
  std::swap(batch.state_, unfolded_[unfolded_count_++]);
  if (batch.state_ == nullptr) batch.state_ = std::make_unique<rocksdb::WriteBatch>();
  return absl::OkStatus();
}

absl::Status Database::ApplyJournal() {
  if (!write_behind_) return absl::OkStatus();
  engine::MutexLock apply(&apply_mu_);
  if (failed_.load(std::memory_order_acquire)) {
    engine::MutexLock health(&health_mu_);
    if (journal_damaged_) return absl::UnavailableError(failure_.message());
  }
  uint64_t from = 0, to = 0, epoch = UINT64_MAX;
  size_t n = 0;
  {
    engine::MutexLock lock(&pending_mu_);
    if (unfolded_count_ == 0 && folded_->empty()) return absl::OkStatus();
  }
  // Refused before folding and sorting: while writes are refused, each read
  // of a dropped cache asks for an apply (EnsureApplied), and sorting the whole
  // pending set each time only to fail at the first write took each request
  // seconds (minutes under ASan) on a full disk.
  if (absl::Status s = WritesAllowed(); !s.ok()) return s;
  {
    engine::MutexLock lock(&pending_mu_);
    std::swap(unfolded_, folding_);
    n = std::exchange(unfolded_count_, 0);
    from = pending_journal_;
    to = pending_journal_ = next_journal_;
    epoch = std::exchange(pending_epoch_, UINT64_MAX);
  }
  const absl::Time started = absl::Now();
  // Folded outside pending_mu_ (commits go on meanwhile), in commit order,
  // after what an earlier failed apply left in folded_.
  for (size_t i = 0; i < n; ++i) {
    if (absl::Status s = folded_->Fold(*folding_[i]); !s.ok()) {
      // Our own encodings did not decode: a bug. The journal holds the
      // commits; what is folded no longer matches them, so nothing more is
      // applied or written until a restart replays the journal.
      spdlog::error("storage: stopping writes: {}", std::string(s.message()));
      engine::MutexLock health(&health_mu_);
      journal_damaged_ = true;
      failure_ = absl::InternalError(
          absl::StrCat("the write-behind journal's pending writes are damaged (", s.message(),
                       "); restart trailsentryd: the journal is replayed"));
      failed_.store(true, std::memory_order_release);
      return absl::UnavailableError(failure_.message());
    }
    folding_[i]->Clear();
  }
  absl::Status s = ApplyPending(*folded_, from, to);
  if (s.ok()) {
    last_apply_keys_.store(folded_->keys());
    last_apply_us_.store(absl::ToInt64Microseconds(absl::Now() - started));
    applied_journal_.store(to);
    folded_->Clear();  // before pending_mu_ is taken: commits need it meanwhile
  }
  engine::MutexLock lock(&pending_mu_);
  if (s.ok()) {
    unapplied_from_.store(pending_epoch_);
    must_apply_.store(false);
    return s;
  }
  // Not applied: folded_ keeps it, to be written before what came after.
  pending_journal_ = from;
  pending_epoch_ = epoch;
  return s;
}

absl::Status Database::ApplyPending(internal::PendingWrites& applying, uint64_t from, uint64_t to) {
  // In chunks, so a commit's journal write never waits behind one long write.
  // A crash between chunks leaves the journal whole: the replay at the next
  // open writes every value again, which gives the same state (puts, deletes
  // and identity records laid over are idempotent).
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  rocksdb::WriteBatch chunk;
  absl::Status s;
  applying.ForEachChunk(kApplyChunk, handles_by_id_, chunk, [&] {
    if (s.ok()) s = WriteChecked(wo, chunk, "applying the journal");
    chunk.Clear();
    return s.ok();
  });
  if (!s.ok()) return s;
  chunk.DeleteRange(cf(kJournal), JournalKey(from), JournalKey(to));
  return WriteChecked(wo, chunk, "applying the journal");
}

void Database::RunApplier() {
  // Requests come first: the applier runs at nice 10 (this thread only), so
  // its folding and writing take the CPU requests leave. Failing to lower it
  // (a sandbox) only costs latency.
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  for (;;) {
    {
      engine::MutexLock lock(&applier_mu_);
      if (applier_mu_.AwaitFor(
              [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(applier_mu_) { return stop_applier_; },
              apply_every_)) {
        return;
      }
    }
    if (absl::Status s = ApplyJournal(); !s.ok()) {
      spdlog::warn("storage: applying the journal (retried in a second): {}",
                   std::string(s.message()));
    }
  }
}

absl::Status Database::EnsureApplied() {
  if (!must_apply_.load()) return absl::OkStatus();
  if (absl::Status s = ApplyJournal(); !s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("state committed earlier is not on disk yet and cannot be written (",
                     s.message(), "); retry"));
  }
  return absl::OkStatus();
}

absl::Status Database::ReplayJournal() {
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kJournal)));
  uint64_t replayed = 0;
  std::string last;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    rocksdb::WriteBatch batch(it->value().ToString());
    if (absl::Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "replaying");
        !s.ok()) {
      return s;
    }
    last = it->key().ToString();
    ++replayed;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the journal");
  if (replayed == 0) return absl::OkStatus();
  rocksdb::WriteBatch done;
  done.DeleteRange(cf(kJournal), JournalKey(0), JournalKey(keys::ReadBigEndian64(last) + 1));
  if (absl::Status s = FromRocks(db_->Write(rocksdb::WriteOptions(), &done), "replaying");
      !s.ok()) {
    return s;
  }
  spdlog::info("storage: replayed {} commits the journal held (the last run did not stop cleanly)",
               replayed);
  return absl::OkStatus();
}

absl::Status Database::StartOwnerFilter() {
  key_shapes_.clear();
  bool empty = true;
  for (int i = 0; i < kCfCount; ++i) {
    const internal::KeyShape shape =
        i == kTrusted           ? internal::KeyShape::kTrusted
        : i == kAccountBaseline ? internal::KeyShape::kOwnerAndKey
        : i == kIdentity || i == kBaseline || i == kEventLog || i == kAlertsByIdentity
            ? internal::KeyShape::kOwner
            : internal::KeyShape::kNotOwned;
    const uint32_t id = handles_[i]->GetID();
    if (key_shapes_.size() <= id) key_shapes_.resize(id + 1, internal::KeyShape::kNotOwned);
    key_shapes_[id] = shape;
    if (shape == internal::KeyShape::kNotOwned) continue;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(internal::AllOwnersReads(), handles_[i]));
    it->SeekToFirst();
    if (!it->status().ok()) return FromRocks(it->status(), "reading state");
    empty = empty && !it->Valid();
  }
  if (empty) {
    written_owners_ = std::make_unique<internal::OwnerFilter>();
    written_keys_ = std::make_unique<internal::OwnerFilter>();
  }
  return absl::OkStatus();
}

absl::Status Database::WriteRocks(const rocksdb::WriteOptions& options, rocksdb::WriteBatch& batch,
                                  std::string_view what) {
  if (written_owners_ != nullptr) {
    if (absl::Status s = internal::AddOwners(batch, key_shapes_, *written_owners_, *written_keys_);
        !s.ok()) {
      return s;
    }
  }
  return FromRocks(db_->Write(options, &batch), what);
}

absl::StatusOr<Database::RepairReport> Database::Repair(const Options& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("repair: no data directory");
  const fs::path path(options.path);
  std::error_code ec;
  if (!fs::exists(path / "CURRENT", ec)) {
    return absl::NotFoundError(absl::StrCat(options.path, " holds no trailsentry database"));
  }
  RepairReport report;
  report.kept = absl::StrCat(options.path, ".before-repair-", absl::ToUnixSeconds(absl::Now()));
  fs::copy(path, report.kept, fs::copy_options::recursive, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("repair: cannot keep a copy in ", report.kept, ": ", ec.message()));
  }
  Options salvage = options;
  salvage.salvage_wal = true;
  absl::StatusOr<std::unique_ptr<Database>> db = Open(salvage);
  if (!db.ok()) return db.status();
  // Flush what the log replayed, so the damaged log is no longer needed.
  rocksdb::FlushOptions flush;
  absl::Status s = FromRocks((*db)->db_->Flush(flush, (*db)->handles_), "repair: flushing");
  if (!s.ok()) return s;
  report.watermark = (*db)->watermark();
  return report;
}

absl::StatusOr<int64_t> Database::Restore(const std::string& backup, const Options& options) {
  const fs::path from(backup), to(options.path);
  std::error_code ec;
  if (options.path.empty()) return absl::InvalidArgumentError("restore: no data directory");
  if (!fs::exists(from / "CURRENT", ec)) {
    return absl::NotFoundError(absl::StrCat(backup, " is not a trailsentry backup"));
  }
  if (fs::exists(to, ec) && !fs::is_empty(to, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.path, " is not empty: restore into a new directory (or move this one away)"));
  }
  fs::create_directories(to, ec);
  fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("restore: copying: ", ec.message()));
  absl::StatusOr<std::unique_ptr<Database>> db = Open(options);
  if (!db.ok()) return db.status();
  return (*db)->watermark();
}

absl::StatusOr<uint64_t> Database::Backup(const std::string& dir) {
  if (absl::Status s = ApplyJournal(); !s.ok()) return s;
  if (mem_env_ != nullptr) {
    return absl::FailedPreconditionError("backup: the database is in memory (--data_dir \"\")");
  }
  rocksdb::Checkpoint* raw = nullptr;
  absl::Status s = FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "backup");
  if (!s.ok()) return s;
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: memtables are flushed first, so the copy needs no log.
  s = FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0), "backup");
  if (!s.ok()) return s;
  uint64_t bytes = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec)) bytes += entry.file_size(ec);
  }
  return bytes;
}

absl::Status Database::CheckDiskRoom() const {
  if (disk_reserve_bytes_ == 0) return absl::OkStatus();
  struct statvfs fs;
  if (statvfs(path_.c_str(), &fs) != 0) return absl::OkStatus();  // cannot tell: let it try
  const uint64_t free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free >= disk_reserve_bytes_) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "disk nearly full: ", free >> 20, " MiB free on ", path_,
      ", below server.disk_reserve_bytes (", disk_reserve_bytes_ >> 20,
      " MiB) kept so the database never runs out mid-write; free space or grow the disk, then "
      "retry"));
}

absl::Status Database::Healthy() {
  if (absl::Status room = CheckDiskRoom(); !room.ok()) return room;
  if (!failed_.load(std::memory_order_acquire)) return absl::OkStatus();
  engine::MutexLock lock(&health_mu_);
  if (!failed_.load(std::memory_order_relaxed)) return absl::OkStatus();
  if (journal_damaged_) return absl::UnavailableError(failure_.message());
  const HealthListener::State state = health_->state();
  bool resumed = state == HealthListener::kOk;  // recovered by itself, or never stopped
  if (state == HealthListener::kStopped) {
    // Not recovering by itself: try Resume(), at most once a second.
    const int64_t now = absl::ToUnixMillis(absl::Now());
    if (now - last_resume_ms_ >= 1000) {
      last_resume_ms_ = now;
      absl::Status r = FromRocks(db_->Resume(), "resuming writes");
      resumed = r.ok();
      if (!r.ok()) last_resume_error_ = std::string(r.message());
    }
  }
  if (resumed) {
    failed_.store(false, std::memory_order_release);
    spdlog::info("storage: writes resumed (were stopped by: {})", std::string(failure_.message()));
    failure_ = absl::OkStatus();
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat(
      "storage: writes stopped: ", failure_.message(),
      state == HealthListener::kRecovering ? " (RocksDB resumes by itself once the disk has room)"
                                           : " (retry when the disk has room)",
      last_resume_error_.empty() ? "" : "; last try to resume: ", last_resume_error_));
}

absl::Status Database::CompactAll() {
  if (absl::Status s = ApplyJournal(); !s.ok()) return s;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    rocksdb::CompactRangeOptions o;
    o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    if (absl::Status s = FromRocks(db_->CompactRange(o, h, nullptr, nullptr), "compacting");
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, uint64_t>> Database::DiskUsage() {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (int i = 0; i < kCfCount; ++i) {
    uint64_t bytes = 0;
    db_->GetIntProperty(handles_[i], rocksdb::DB::Properties::kLiveSstFilesSize, &bytes);
    out.emplace_back(kCfNames[i], bytes);
  }
  return out;
}

std::vector<std::pair<std::string, double>> Database::Gauges() {
  uint64_t sst = 0, memtables = 0, stopped = 0, delayed = 0;
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kLiveSstFilesSize, &v)) sst += v;
    if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) memtables += v;
  }
  db_->GetIntProperty(rocksdb::DB::Properties::kIsWriteStopped, &stopped);
  db_->GetIntProperty(rocksdb::DB::Properties::kActualDelayedWriteRate, &delayed);
  std::vector<std::pair<std::string, double>> out = {
      {"trailsentry_rocksdb_live_sst_bytes", static_cast<double>(sst)},
      {"trailsentry_rocksdb_memtable_bytes", static_cast<double>(memtables)},
      {"trailsentry_rocksdb_write_stopped", static_cast<double>(stopped)},
      {"trailsentry_rocksdb_delayed_write_rate_bytes", static_cast<double>(delayed)}};
  if (write_behind_) {
    uint64_t journaled = 0;
    {
      engine::MutexLock lock(&pending_mu_);
      journaled = next_journal_;
    }
    out.emplace_back("trailsentry_journal_unapplied_commits",
                     static_cast<double>(journaled - std::min(journaled, applied_journal_.load())));
    out.emplace_back("trailsentry_journal_last_apply_keys",
                     static_cast<double>(last_apply_keys_.load()));
    out.emplace_back("trailsentry_journal_last_apply_seconds",
                     static_cast<double>(last_apply_us_.load()) / 1e6);
  }
  return out;
}

uint64_t Database::CountKeys(std::string_view column_family) {
  (void)ApplyJournal();  // counts what is committed; a failure is counted as is
  for (int i = 0; i < kCfCount; ++i) {
    if (column_family != kCfNames[i]) continue;
    uint64_t n = 0;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(internal::AllOwnersReads(), handles_[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }
  return 0;
}

}  // namespace trailsentry::storage
