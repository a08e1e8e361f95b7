#include "storage/database.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert_proto.h"
#include "storage/keys.h"

namespace trailsentry::storage {
namespace {

namespace fs = std::filesystem;

constexpr char kSchemaKey[] = "schema_version";
constexpr char kWatermarkKey[] = "watermark";

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(AbslView(what), ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsIOError() || s.IsBusy() || s.IsTryAgain()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

// Baseline values: varint first_seen, varint (last_seen - first_seen), varint count.
void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift <= 63 && pos < in.size(); shift += 7) {
    const auto b = static_cast<uint8_t>(in[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

std::string EncodeEntry(const engine::BaselineEntry& e) {
  std::string out;
  PutVarint(out, static_cast<uint64_t>(e.first_seen));
  PutVarint(out, static_cast<uint64_t>(e.last_seen - e.first_seen));
  PutVarint(out, static_cast<uint64_t>(e.count));
  return out;
}

std::optional<engine::BaselineEntry> DecodeEntry(std::string_view in) {
  size_t pos = 0;
  uint64_t first, span, count;
  if (!GetVarint(in, pos, first) || !GetVarint(in, pos, span) || !GetVarint(in, pos, count) ||
      pos != in.size()) {
    return std::nullopt;
  }
  return engine::BaselineEntry{static_cast<int64_t>(first), static_cast<int64_t>(first + span),
                               static_cast<int64_t>(count)};
}

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

class ExpiryFilterFactory final : public rocksdb::CompactionFilterFactory {
 public:
  ExpiryFilterFactory(std::shared_ptr<std::atomic<int64_t>> watermark, int64_t keep_ms)
      : watermark_(std::move(watermark)), keep_ms_(keep_ms) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context&) override {
    return std::make_unique<ExpiryFilter>(watermark_, keep_ms_);
  }
  const char* Name() const override { return "trailsentry.ExpiryFilterFactory"; }

 private:
  std::shared_ptr<std::atomic<int64_t>> watermark_;
  int64_t keep_ms_;
};

// Drops window-log events too old for any restart to replay (keys carry the time).
class WindowLogExpiry final : public rocksdb::CompactionFilter {
 public:
  WindowLogExpiry(std::shared_ptr<std::atomic<int64_t>> watermark, int64_t keep_ms)
      : watermark_(std::move(watermark)), keep_ms_(keep_ms) {}
  bool Filter(int, const rocksdb::Slice& key, const rocksdb::Slice&, std::string*,
              bool*) const override {
    const std::string_view k = key.ToStringView();
    size_t pos = 0;
    if (!keys::ReadComponent(k, pos) || !keys::ReadComponent(k, pos) || pos + 8 > k.size()) {
      return false;
    }
    const auto t = static_cast<int64_t>(keys::ReadBigEndian64(k.substr(pos, 8)));
    const int64_t mark = watermark_->load();
    return mark > 0 && t < mark - keep_ms_;
  }
  const char* Name() const override { return "trailsentry.WindowLogExpiry"; }

 private:
  std::shared_ptr<std::atomic<int64_t>> watermark_;
  int64_t keep_ms_;
};

class WindowLogExpiryFactory final : public rocksdb::CompactionFilterFactory {
 public:
  WindowLogExpiryFactory(std::shared_ptr<std::atomic<int64_t>> watermark, int64_t keep_ms)
      : watermark_(std::move(watermark)), keep_ms_(keep_ms) {}
  std::unique_ptr<rocksdb::CompactionFilter> CreateCompactionFilter(
      const rocksdb::CompactionFilter::Context&) override {
    return std::make_unique<WindowLogExpiry>(watermark_, keep_ms_);
  }
  const char* Name() const override { return "trailsentry.WindowLogExpiryFactory"; }

 private:
  std::shared_ptr<std::atomic<int64_t>> watermark_;
  int64_t keep_ms_;
};

std::string EncodeWatermark(int64_t t) {
  std::string out;
  keys::AppendBigEndian64(out, static_cast<uint64_t>(t));
  return out;
}

}  // namespace

const char* const Database::kCfNames[kCfCount] = {
    "default", "identity",       "baseline",           "account_baseline", "trusted",
    "alerts",  "alerts_by_time", "alerts_by_identity", "window_log"};

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const Options& options) {
  if (options.config == nullptr) return absl::InvalidArgumentError("Database::Open: no config");
  const fs::path path(options.path);
  std::error_code ec;
  const bool existed = fs::exists(path / "CURRENT", ec);
  if (!existed && fs::exists(path, ec) && !fs::is_empty(path, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.path, " is not a trailsentry data directory: it holds files but no database"));
  }
  fs::create_directories(path, ec);
  if (ec) return absl::UnavailableError(absl::StrCat(options.path, ": ", ec.message()));

  std::unique_ptr<Database> db(new Database());
  db->sync_ = options.sync;
  db->wal_ = options.wal;
  const auto& u = options.config->unusual_ip;
  // Keep entries a day longer than any judged event could need.
  const int64_t keep_ms = absl::ToInt64Milliseconds(u.history + options.config->max_lateness +
                                                    u.settle + absl::Hours(24));

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 5;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.bottommost_compression = rocksdb::kZSTD;
  rocksdb::ColumnFamilyOptions expiring = cf_options;
  expiring.compaction_filter_factory =
      std::make_shared<ExpiryFilterFactory>(db->watermark_, keep_ms);

  if (existed) {
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, options.path, &names);
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
  rocksdb::ColumnFamilyOptions window_log = cf_options;
  const engine::Config& c = *options.config;
  window_log.compaction_filter_factory = std::make_shared<WindowLogExpiryFactory>(
      db->watermark_, absl::ToInt64Milliseconds(c.max_lateness + c.burst.window +
                                                c.burst.suppression + absl::Hours(24)));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int i = 0; i < kCfCount; ++i) {
    descriptors.emplace_back(kCfNames[i], i == kBaseline || i == kAccountBaseline ? expiring
                                          : i == kWindowLog                       ? window_log
                                                                                  : cf_options);
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, descriptors, &db->handles_, &raw);
  if (!s.ok() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.path,
        " is in use by another process (a running trailsentryd or scan?): ", s.ToString()));
  }
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening ", options.path));
  db->db_.reset(raw);

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
  } else if (version != std::to_string(kSchemaVersion)) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.path, " was written by trailsentry schema version ", version,
        "; this build reads version ", kSchemaVersion,
        " and has no migration from it. Use the build that wrote it, or rebuild the directory by "
        "replaying CloudTrail with `trailsentry scan`."));
  }
  std::string mark;
  s = db->db_->Get(rocksdb::ReadOptions(), db->cf(kMeta), kWatermarkKey, &mark);
  if (s.ok() && mark.size() == 8) {
    db->watermark_->store(static_cast<int64_t>(keys::ReadBigEndian64(mark)));
  }
  return db;
}

Database::~Database() {
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

void StateBatch::PutProfile(std::string_view tenant, std::string_view identity,
                            const engine::IdentityProfile& profile) {
  batch_->Put(db_.cf(Database::kIdentity), keys::Identity(tenant, identity), EncodeEntry(profile));
  newest_ = std::max(newest_, profile.last_seen);
  ++writes_;
}

void StateBatch::PutBaseline(std::string_view tenant, std::string_view identity,
                             const engine::Network& network, const engine::BaselineEntry& entry) {
  batch_->Put(db_.cf(Database::kBaseline), keys::Baseline(tenant, identity, network),
              EncodeEntry(entry));
  newest_ = std::max(newest_, entry.last_seen);
  ++writes_;
}

void StateBatch::PutAccountBaseline(std::string_view tenant, std::string_view account,
                                    const engine::Network& network,
                                    const engine::BaselineEntry& entry) {
  batch_->Put(db_.cf(Database::kAccountBaseline), keys::AccountBaseline(tenant, account, network),
              EncodeEntry(entry));
  newest_ = std::max(newest_, entry.last_seen);
  ++writes_;
}

void StateBatch::PutAlert(const engine::Alert& alert) {
  v1::Alert proto;
  engine::ToProto(alert, &proto);
  batch_->Put(db_.cf(Database::kAlerts), keys::Alert(alert.tenant, alert.alert_id),
              proto.SerializeAsString());
  batch_->Put(db_.cf(Database::kAlertsByTime),
              keys::AlertByTime(alert.tenant, alert.opened_at, alert.alert_id), "");
  batch_->Put(db_.cf(Database::kAlertsByIdentity),
              keys::AlertByIdentity(alert.tenant, alert.identity, alert.opened_at, alert.alert_id),
              "");
  newest_ = std::max(newest_, alert.last_event_time);
  ++writes_;
}

void StateBatch::PutTrusted(std::string_view tenant, engine::TrustScope scope,
                            std::string_view name, const engine::Network& network) {
  batch_->Put(db_.cf(Database::kTrusted), keys::Trusted(tenant, scope, name, network), "");
  ++writes_;
}

void StateBatch::PutWindowEvent(std::string_view tenant, std::string_view identity,
                                const engine::AlertEventFields& f, std::string_view identity_type,
                                std::string_view user_name) {
  std::string key = keys::Identity(tenant, identity);
  keys::AppendBigEndian64(key, static_cast<uint64_t>(f.time));
  key.append(f.event_id);
  std::string value;
  for (std::string_view part :
       {f.event_id, f.action, f.provider, f.source_ip, f.region, f.user_agent, f.access_key_id,
        f.account, identity_type, user_name}) {
    keys::AppendComponent(value, part);
  }
  batch_->Put(db_.cf(Database::kWindowLog), key, value);
  newest_ = std::max(newest_, f.time);
  ++writes_;
}

void StateBatch::DeleteIdentity(std::string_view tenant, std::string_view identity) {
  const std::string prefix = keys::Identity(tenant, identity);
  batch_->Delete(db_.cf(Database::kIdentity), prefix);
  batch_->DeleteRange(db_.cf(Database::kBaseline), prefix, keys::PrefixEnd(prefix));
  const std::string trusted = keys::TrustedPrefix(tenant, engine::TrustScope::kIdentity, identity);
  batch_->DeleteRange(db_.cf(Database::kTrusted), trusted, keys::PrefixEnd(trusted));
  batch_->DeleteRange(db_.cf(Database::kWindowLog), prefix, keys::PrefixEnd(prefix));
  ++writes_;
}

absl::Status Database::Commit(StateBatch& batch) {
  if (batch.writes_ == 0) return absl::OkStatus();
  if (batch.newest_ > watermark_->load()) {
    batch.batch_->Put(cf(kMeta), kWatermarkKey, EncodeWatermark(batch.newest_));
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  wo.disableWAL = !wal_;
  absl::Status s = FromRocks(db_->Write(wo, batch.batch_.get()), "committing state");
  if (s.ok()) {
    int64_t cur = watermark_->load();
    while (batch.newest_ > cur && !watermark_->compare_exchange_weak(cur, batch.newest_)) {
    }
    batch.batch_->Clear();
    batch.writes_ = 0;
  }
  return s;
}

absl::StatusOr<engine::StoredIdentity> Database::LoadIdentity(std::string_view tenant,
                                                              std::string_view identity) {
  engine::StoredIdentity out;
  const std::string prefix = keys::Identity(tenant, identity);
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kIdentity), prefix, &value);
  if (s.ok()) {
    out.profile = DecodeEntry(value);
    if (!out.profile)
      return absl::DataLossError(absl::StrCat("corrupt profile of ", AbslView(identity)));
  } else if (!s.IsNotFound()) {
    return FromRocks(s, absl::StrCat("loading profile of ", AbslView(identity)));
  }
  const std::string end = keys::PrefixEnd(prefix);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kBaseline)));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    std::optional<engine::Network> net = keys::ParseNetworkBytes(key.substr(prefix.size()));
    std::optional<engine::BaselineEntry> entry = DecodeEntry(it->value().ToStringView());
    if (!net || !entry)
      return absl::DataLossError(absl::StrCat("corrupt baseline of ", AbslView(identity)));
    out.networks.emplace_back(*net, *entry);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning baselines");
  absl::StatusOr<std::vector<engine::Network>> trusted =
      LoadTrusted(tenant, engine::TrustScope::kIdentity, identity);
  if (!trusted.ok()) return trusted.status();
  out.trusted = *std::move(trusted);
  return out;
}

absl::StatusOr<engine::BaselineEntry> Database::LoadAccountBaseline(
    std::string_view tenant, std::string_view account, const engine::Network& network) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kAccountBaseline),
                               keys::AccountBaseline(tenant, account, network), &value);
  if (s.IsNotFound()) return engine::BaselineEntry{};
  if (!s.ok()) return FromRocks(s, "loading account baseline");
  std::optional<engine::BaselineEntry> e = DecodeEntry(value);
  if (!e)
    return absl::DataLossError(absl::StrCat("corrupt account baseline of ", AbslView(account)));
  return *e;
}

absl::StatusOr<std::vector<engine::Network>> Database::LoadTrusted(std::string_view tenant,
                                                                   engine::TrustScope scope,
                                                                   std::string_view name) {
  std::vector<engine::Network> out;
  const std::string prefix = keys::TrustedPrefix(tenant, scope, name);
  const std::string end = keys::PrefixEnd(prefix);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kTrusted)));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::optional<engine::Network> net =
        keys::ParseNetworkBytes(it->key().ToStringView().substr(prefix.size()));
    if (net) out.push_back(*net);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning trusted networks");
  return out;
}

absl::StatusOr<engine::StoredBurstState> Database::LoadBurstState(std::string_view tenant,
                                                                  std::string_view identity,
                                                                  int64_t reach_ms) {
  engine::StoredBurstState out;
  const std::string prefix = keys::Identity(tenant, identity);
  const std::string end = keys::PrefixEnd(prefix);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kWindowLog)));
  it->SeekForPrev(end);
  if (it->Valid() && it->key().ToStringView() == end) it->Prev();
  if (!it->Valid() || !it->key().starts_with(prefix)) {
    if (!it->status().ok()) return FromRocks(it->status(), "reading window log");
    return out;  // nothing logged
  }
  const auto newest = static_cast<int64_t>(
      keys::ReadBigEndian64(it->key().ToStringView().substr(prefix.size(), 8)));
  std::string from = prefix;
  keys::AppendBigEndian64(from, static_cast<uint64_t>(std::max<int64_t>(0, newest - reach_ms)));
  for (it->Seek(from); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    const std::string_view value = it->value().ToStringView();
    engine::WindowLogEvent e;
    e.time = static_cast<int64_t>(keys::ReadBigEndian64(key.substr(prefix.size(), 8)));
    size_t pos = 0;
    for (std::string* field :
         {&e.event_id, &e.action, &e.provider, &e.source_ip, &e.region, &e.user_agent,
          &e.access_key_id, &e.account, &e.identity_type, &e.user_name}) {
      std::optional<std::string_view> part = keys::ReadComponent(value, pos);
      if (!part)
        return absl::DataLossError(absl::StrCat("corrupt window log of ", AbslView(identity)));
      field->assign(*part);
    }
    out.events.push_back(std::move(e));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading window log");

  // The burst alerts those events may extend: open ones, newest first.
  constexpr int kMaxAlerts = 64;
  std::unique_ptr<rocksdb::Iterator> idx(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kAlertsByIdentity)));
  idx->SeekForPrev(end);
  if (idx->Valid() && idx->key().ToStringView() == end) idx->Prev();
  for (int n = 0; n < kMaxAlerts && idx->Valid() && idx->key().starts_with(prefix);
       ++n, idx->Prev()) {
    const std::string_view key = idx->key().ToStringView();
    const auto opened_at =
        static_cast<int64_t>(keys::ReadBigEndian64(key.substr(prefix.size(), 8)));
    absl::StatusOr<std::optional<v1::Alert>> alert =
        GetAlert(tenant, key.substr(prefix.size() + 8));
    if (!alert.ok()) return alert.status();
    if (!alert->has_value()) continue;
    const v1::Alert& a = **alert;
    if (a.rule_id() != engine::kBurstRuleId || !a.superseded_by().empty()) continue;
    if (engine::FromTimestamp(a.last_event_time()) < newest - reach_ms) continue;
    out.open_alerts.push_back(engine::FromProto(a, opened_at));
  }
  if (!idx->status().ok()) return FromRocks(idx->status(), "reading alert index");
  return out;
}

absl::StatusOr<std::optional<v1::Alert>> Database::GetAlert(std::string_view tenant,
                                                            std::string_view alert_id) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf(kAlerts), keys::Alert(tenant, alert_id), &value);
  if (s.IsNotFound()) return std::optional<v1::Alert>();
  if (!s.ok()) return FromRocks(s, "reading alert");
  v1::Alert alert;
  if (!alert.ParseFromString(value)) return absl::DataLossError("corrupt alert record");
  return alert;
}

absl::StatusOr<AlertPage> Database::ListAlerts(const AlertQuery& q) {
  if (q.page_size < 1 || q.page_size > 1000) {
    return absl::InvalidArgumentError("page_size must be 1..1000");
  }
  const bool by_identity = !q.identity.empty();
  const std::string prefix =
      by_identity ? keys::Identity(q.tenant, q.identity) : keys::Tenant(q.tenant);
  std::string start;  // iterate backwards from here (exclusive)
  if (!q.page_token.empty()) {
    if (!absl::WebSafeBase64Unescape(q.page_token, &start) || start.rfind(prefix, 0) != 0) {
      return absl::InvalidArgumentError("page_token is not from this query");
    }
  } else {
    start = prefix;
    keys::AppendBigEndian64(start, static_cast<uint64_t>(std::min<int64_t>(q.until, INT64_MAX)));
  }
  std::string since_key = prefix;
  keys::AppendBigEndian64(since_key, static_cast<uint64_t>(std::max<int64_t>(q.since, 0)));

  AlertPage page;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(
      rocksdb::ReadOptions(), cf(by_identity ? kAlertsByIdentity : kAlertsByTime)));
  it->SeekForPrev(start);
  if (it->Valid() && it->key().ToStringView() == start) it->Prev();  // exclusive
  std::string last_key;
  for (; it->Valid(); it->Prev()) {
    const std::string_view key = it->key().ToStringView();
    if (key.rfind(prefix, 0) != 0 || key < since_key) break;
    const std::string_view alert_id = key.substr(prefix.size() + 8);
    absl::StatusOr<std::optional<v1::Alert>> alert = GetAlert(q.tenant, alert_id);
    if (!alert.ok()) return alert.status();
    if (!alert->has_value()) continue;
    if (!q.rule_id.empty() && (*alert)->rule_id() != q.rule_id) continue;
    if (static_cast<int>(page.alerts.size()) == q.page_size) {
      page.next_page_token = absl::WebSafeBase64Escape(last_key);
      break;
    }
    page.alerts.push_back(**std::move(alert));
    last_key = std::string(key);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "listing alerts");
  return page;
}

absl::Status Database::CompactAll() {
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
  return {{"trailsentry_rocksdb_live_sst_bytes", static_cast<double>(sst)},
          {"trailsentry_rocksdb_memtable_bytes", static_cast<double>(memtables)},
          {"trailsentry_rocksdb_write_stopped", static_cast<double>(stopped)},
          {"trailsentry_rocksdb_delayed_write_rate_bytes", static_cast<double>(delayed)}};
}

uint64_t Database::CountKeys(std::string_view column_family) {
  for (int i = 0; i < kCfCount; ++i) {
    if (column_family != kCfNames[i]) continue;
    uint64_t n = 0;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handles_[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }
  return 0;
}

}  // namespace trailsentry::storage
