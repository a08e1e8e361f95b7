// The alert change log and triage: every change of an alert (opened, updated
// by events, triaged) gets the next sequence number and an entry in the
// alert_changes column family, written in the same WriteBatch as the change
// itself. WatchAlerts, webhooks and ListAlerts' updated_since read it.
//
// Triage (status, disposition, assignee, notes, created_at, updated_at and the
// latest change's sequence) is kept apart from the alert's content, in
// alert_triage, and merged into the alert whenever one is read: the content
// follows the events, the triage follows the server's clock and the analysts.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert_proto.h"
#include "storage/database.h"
#include "storage/internal/codec.h"
#include "storage/keys.h"

namespace trailsentry::storage {
namespace {

using internal::FromRocks;

constexpr char kChangeSequenceKey[] = "change_sequence";
constexpr char kLogStartsKey[] = "change_log_starts";  // ms: older changes were pruned
constexpr char kCursorPrefix[] = "cursor/";

std::string ChangeKey(int64_t sequence) {
  std::string key;
  keys::AppendBigEndian64(key, static_cast<uint64_t>(sequence));
  return key;
}

int64_t Millis(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

}  // namespace

absl::Status Database::LoadChangeLog() {
  int64_t last = 0, last_ms = 0;
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kMeta), kChangeSequenceKey, &value);
  if (s.ok() && value.size() == 8) last = static_cast<int64_t>(keys::ReadBigEndian64(value));
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the change sequence");
  s = db_->Get(rocksdb::ReadOptions(), cf(kMeta), kLogStartsKey, &value);
  if (s.ok() && value.size() == 8) {
    log_starts_ms_.store(static_cast<int64_t>(keys::ReadBigEndian64(value)));
  }
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kAlertChanges)));
  it->SeekToLast();
  if (it->Valid()) {
    v1::AlertChange change;
    if (change.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      last = std::max(last, change.sequence());
      last_ms = Millis(change.alert().updated_at());
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the change log");
  engine::MutexLock lock(&changes_mu_);
  last_sequence_ = last;
  last_change_ms_ = last_ms;
  written_sequence_.store(last);
  return absl::OkStatus();
}

int64_t Database::NextChangeTime() {
  // Never earlier than the change before: updated_at follows the sequence even
  // when the clock steps back.
  last_change_ms_ = std::max(last_change_ms_, absl::ToUnixMillis(absl::Now()));
  return last_change_ms_;
}

void Database::FillLink(v1::Alert& alert) const {
  if (link_template_.empty()) return;
  alert.set_link(absl::StrReplaceAll(
      link_template_, {{"{tenant}", alert.tenant()}, {"{alert_id}", alert.alert_id()}}));
}

absl::Status Database::Decorate(std::string_view tenant, v1::Alert& alert) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kAlertTriage),
                               keys::Alert(tenant, alert.alert_id()), &value);
  if (s.ok()) {
    v1::Alert triage;
    if (!triage.ParseFromString(value)) {
      return absl::DataLossError(absl::StrCat("corrupt triage record of alert ", alert.alert_id()));
    }
    alert.MergeFrom(triage);
  } else if (!s.IsNotFound()) {
    return FromRocks(s, "reading alert triage");
  }
  if (alert.status() == v1::Alert::STATUS_UNSPECIFIED) alert.set_status(v1::Alert::OPEN);
  FillLink(alert);
  return absl::OkStatus();
}

absl::Status Database::LogChanges(StateBatch& batch, std::vector<v1::AlertChange>& out) {
  const int64_t now = NextChangeTime();
  std::string value;
  for (auto& [key, pending] : batch.alerts_) {
    const v1::Alert& proto = pending.proto;
    batch.batch_->Put(cf(kAlerts), key, internal::EncodeAlert(proto, pending.event_times));
    batch.batch_->Put(cf(kAlertsByTime),
                      keys::AlertByTime(proto.tenant(), pending.opened_at, proto.alert_id()), "");
    batch.batch_->Put(cf(kAlertsByIdentity),
                      keys::AlertByIdentity(proto.tenant(), proto.identity(), pending.opened_at,
                                            proto.alert_id()),
                      "");
    v1::Alert triage;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kAlertTriage), key, &value);
    v1::AlertChange& change = out.emplace_back();
    if (s.IsNotFound()) {
      change.set_kind(v1::AlertChange::NEW);
      triage.set_status(v1::Alert::OPEN);
      *triage.mutable_created_at() = engine::ToTimestamp(now);
    } else if (!s.ok()) {
      return FromRocks(s, "reading alert triage");
    } else if (!triage.ParseFromString(value)) {
      return absl::DataLossError(absl::StrCat("corrupt triage record of alert ", proto.alert_id()));
    } else {
      change.set_kind(v1::AlertChange::UPDATED);
    }
    *triage.mutable_updated_at() = engine::ToTimestamp(now);
    triage.set_change_sequence(++last_sequence_);
    change.set_sequence(last_sequence_);
    batch.batch_->Put(cf(kAlertTriage), key, triage.SerializeAsString());
    *change.mutable_alert() = proto;
    change.mutable_alert()->MergeFrom(triage);
    FillLink(*change.mutable_alert());
    batch.batch_->Put(cf(kAlertChanges), ChangeKey(last_sequence_), change.SerializeAsString());
  }
  batch.batch_->Put(cf(kMeta), kChangeSequenceKey, ChangeKey(last_sequence_));
  return absl::OkStatus();
}

void Database::ChangesWritten(int64_t last) {
  std::vector<std::function<void(int64_t)>> listeners;
  {
    engine::MutexLock lock(&listeners_mu_);
    int64_t cur = written_sequence_.load();
    while (last > cur && !written_sequence_.compare_exchange_weak(cur, last)) {
    }
    listeners_mu_.NotifyAll();
    for (const auto& [id, fn] : listeners_) listeners.push_back(fn);
  }
  for (const auto& fn : listeners) fn(last);
}

absl::StatusOr<v1::Alert> Database::UpdateAlert(
    std::string_view tenant, std::string_view alert_id,
    absl::FunctionRef<absl::Status(const v1::Alert& now, v1::Alert& triage)> change) {
  int64_t last = 0;
  v1::AlertChange entry;
  {
    engine::MutexLock lock(&changes_mu_);
    absl::StatusOr<std::optional<v1::Alert>> alert = GetAlert(tenant, alert_id);
    if (!alert.ok()) return alert.status();
    if (!alert->has_value()) {
      return absl::NotFoundError(absl::StrCat("alert_id: no alert \"", AbslView(alert_id),
                                              "\" (tenant \"", AbslView(tenant), "\")"));
    }
    const std::string key = keys::Alert(tenant, alert_id);
    v1::Alert triage;
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kAlertTriage), key, &value);
    if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading alert triage");
    if (s.ok() && !triage.ParseFromString(value)) {
      return absl::DataLossError(
          absl::StrCat("corrupt triage record of alert ", AbslView(alert_id)));
    }
    if (absl::Status st = change(**alert, triage); !st.ok()) return st;
    const int64_t before = last_sequence_, before_ms = last_change_ms_;
    *triage.mutable_updated_at() = engine::ToTimestamp(NextChangeTime());
    if (!triage.has_created_at()) *triage.mutable_created_at() = triage.updated_at();
    triage.set_change_sequence(last_sequence_ + 1);
    entry.set_kind(v1::AlertChange::TRIAGED);
    entry.set_sequence(last_sequence_ + 1);
    v1::Alert* now = entry.mutable_alert();
    *now = **std::move(alert);
    // The triage fields as they are now, not merged with the old ones (notes
    // would be repeated, a cleared assignee kept).
    now->clear_status();
    now->clear_disposition();
    now->clear_assignee();
    now->clear_notes();
    now->MergeFrom(triage);
    rocksdb::WriteBatch batch;
    batch.Put(cf(kAlertTriage), key, triage.SerializeAsString());
    batch.Put(cf(kAlertChanges), ChangeKey(entry.sequence()), entry.SerializeAsString());
    batch.Put(cf(kMeta), kChangeSequenceKey, ChangeKey(entry.sequence()));
    rocksdb::WriteOptions wo;
    wo.sync = sync_;
    absl::Status st = failed_.load(std::memory_order_acquire) ? Healthy() : CheckDiskRoom();
    if (st.ok()) st = WriteRocks(wo, batch, "writing alert triage");
    if (!st.ok()) {
      last_change_ms_ = before_ms;
      return st;
    }
    last_sequence_ = before + 1;
    last = last_sequence_;
  }
  ChangesWritten(last);
  return std::move(*entry.mutable_alert());
}

absl::StatusOr<std::vector<v1::AlertChange>> Database::ReadChanges(int64_t after, size_t limit,
                                                                   std::string_view tenant,
                                                                   int64_t* scanned) {
  std::vector<v1::AlertChange> out;
  const int64_t written = written_sequence_.load();
  *scanned = after;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kAlertChanges)));
  for (it->Seek(ChangeKey(after + 1)); it->Valid() && out.size() < limit; it->Next()) {
    const auto sequence = static_cast<int64_t>(keys::ReadBigEndian64(it->key().ToStringView()));
    if (sequence > written) break;  // a commit not yet acknowledged to its writer
    v1::AlertChange change;
    if (!change.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("corrupt change log entry ", sequence));
    }
    *scanned = sequence;
    if (!tenant.empty() && change.alert().tenant() != tenant) continue;
    out.push_back(std::move(change));
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the change log");
  if (out.size() < limit) *scanned = std::max(*scanned, written);
  return out;
}

ChangeRange Database::change_range() {
  ChangeRange range;
  range.last = written_sequence_.load();
  range.first = range.last + 1;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kAlertChanges)));
  it->SeekToFirst();
  if (it->Valid()) {
    range.first = static_cast<int64_t>(keys::ReadBigEndian64(it->key().ToStringView()));
  }
  return range;
}

bool Database::WaitForChanges(int64_t after, absl::Duration timeout) {
  engine::MutexLock lock(&listeners_mu_);
  return listeners_mu_.AwaitFor([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                                    listeners_mu_) { return written_sequence_.load() > after; },
                                absl::ToChronoMilliseconds(timeout));
}

int Database::AddChangeListener(std::function<void(int64_t)> listener) {
  engine::MutexLock lock(&listeners_mu_);
  listeners_.emplace_back(next_listener_, std::move(listener));
  return next_listener_++;
}

void Database::RemoveChangeListener(int id) {
  engine::MutexLock lock(&listeners_mu_);
  std::erase_if(listeners_, [id](const auto& l) { return l.first == id; });
}

absl::StatusOr<int64_t> Database::PruneChanges(int64_t now_ms, absl::Duration retention) {
  const int64_t cutoff = now_ms - absl::ToInt64Milliseconds(retention);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kAlertChanges)));
  int64_t dropped = 0;
  std::string first, end;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    v1::AlertChange change;
    if (change.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) &&
        Millis(change.alert().updated_at()) >= cutoff) {
      break;
    }
    if (first.empty()) first = it->key().ToString();
    end = it->key().ToString();
    ++dropped;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the change log");
  if (dropped == 0) return 0;
  // Where the log now starts, for updated_since listings that reach before it.
  rocksdb::WriteBatch batch;
  batch.DeleteRange(cf(kAlertChanges), first, keys::PrefixEnd(end));
  batch.Put(cf(kMeta), kLogStartsKey, ChangeKey(cutoff));
  if (absl::Status s = WriteRocks(rocksdb::WriteOptions(), batch, "pruning the change log");
      !s.ok()) {
    return s;
  }
  int64_t cur = log_starts_ms_.load();
  while (cutoff > cur && !log_starts_ms_.compare_exchange_weak(cur, cutoff)) {
  }
  return dropped;
}

absl::StatusOr<std::optional<int64_t>> Database::ReadCursor(std::string_view name) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kMeta),
                               absl::StrCat(kCursorPrefix, AbslView(name)), &value);
  if (s.IsNotFound()) return std::optional<int64_t>();
  if (!s.ok()) return FromRocks(s, "reading a delivery cursor");
  if (value.size() != 8)
    return absl::DataLossError(absl::StrCat("corrupt cursor ", AbslView(name)));
  return std::optional<int64_t>(static_cast<int64_t>(keys::ReadBigEndian64(value)));
}

absl::Status Database::WriteCursor(std::string_view name, int64_t sequence) {
  rocksdb::WriteOptions wo;
  wo.sync = sync_;
  return FromRocks(
      db_->Put(wo, cf(kMeta), absl::StrCat(kCursorPrefix, AbslView(name)), ChangeKey(sequence)),
      "writing a delivery cursor");
}

absl::StatusOr<AlertPage> Database::ListChangedAlerts(const ChangedAlertQuery& q) {
  if (q.page_size < 1 || q.page_size > 1000) {
    return absl::InvalidArgumentError("page_size must be 1..1000");
  }
  int64_t below = INT64_MAX;  // sequences below this
  if (!q.page_token.empty()) {
    std::string raw;
    if (!absl::WebSafeBase64Unescape(q.page_token, &raw) || raw.size() != 9 || raw[0] != 'u') {
      return absl::InvalidArgumentError("page_token is not from this query");
    }
    below = static_cast<int64_t>(keys::ReadBigEndian64(raw.substr(1)));
  }
  if (const int64_t starts = log_starts_ms_.load(); q.updated_since < starts) {
    return absl::OutOfRangeError(absl::StrCat(
        "updated_since: the change log starts at ",
        absl::FormatTime(absl::RFC3339_full, absl::FromUnixMillis(starts), absl::UTCTimeZone()),
        " (server.alerts.change_retention); list by since/until instead"));
  }
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(kAlertChanges)));
  AlertPage page;
  if (below == INT64_MAX) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(ChangeKey(below));
    if (it->Valid() &&
        static_cast<int64_t>(keys::ReadBigEndian64(it->key().ToStringView())) >= below) {
      it->Prev();
    }
  }
  int64_t last_sequence = 0;
  for (; it->Valid(); it->Prev()) {
    v1::AlertChange change;
    if (!change.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("corrupt change log entry ",
                                              keys::ReadBigEndian64(it->key().ToStringView())));
    }
    if (Millis(change.alert().updated_at()) < q.updated_since) break;
    if (change.alert().tenant() != q.tenant) continue;
    absl::StatusOr<std::optional<v1::Alert>> alert = GetAlert(q.tenant, change.alert().alert_id());
    if (!alert.ok()) return alert.status();
    // Each alert once: where its latest change is.
    if (!alert->has_value() || (*alert)->change_sequence() != change.sequence()) continue;
    if (!q.rule_id.empty() && (*alert)->rule_id() != q.rule_id) continue;
    if (q.status != v1::Alert::STATUS_UNSPECIFIED && (*alert)->status() != q.status) continue;
    if (static_cast<int>(page.alerts.size()) == q.page_size) {
      std::string raw = "u";
      keys::AppendBigEndian64(raw, static_cast<uint64_t>(last_sequence));
      page.next_page_token = absl::WebSafeBase64Escape(raw);
      break;
    }
    page.alerts.push_back(**std::move(alert));
    last_sequence = change.sequence();
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading the change log");
  return page;
}

}  // namespace trailsentry::storage
