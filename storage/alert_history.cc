// Database reads of alert history: one alert, and filtered, paged listings.
#include <rocksdb/db.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert_proto.h"
#include "storage/database.h"
#include "storage/internal/codec.h"
#include "storage/internal/owner_prefix.h"
#include "storage/keys.h"

namespace trailsentry::storage {

using internal::DecodeEntry;
using internal::FromRocks;

absl::StatusOr<std::optional<internal::StoredAlert>> Database::ReadAlert(
    std::string_view tenant, std::string_view alert_id) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), cf(kAlerts), keys::Alert(tenant, alert_id), &value);
  if (s.IsNotFound()) return std::optional<internal::StoredAlert>();
  if (!s.ok()) return FromRocks(s, "reading alert");
  std::optional<internal::StoredAlert> stored = internal::DecodeAlert(value);
  if (!stored) {
    return absl::DataLossError(absl::StrCat("corrupt alert record ", AbslView(alert_id)));
  }
  return stored;
}

absl::StatusOr<std::optional<v1::Alert>> Database::GetAlert(std::string_view tenant,
                                                            std::string_view alert_id) {
  absl::StatusOr<std::optional<internal::StoredAlert>> stored = ReadAlert(tenant, alert_id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::optional<v1::Alert>();
  if (absl::Status s = Decorate(tenant, (*stored)->alert); !s.ok()) return s;
  return std::move((*stored)->alert);
}

absl::StatusOr<std::optional<engine::Alert>> Database::LoadAlert(std::string_view tenant,
                                                                 std::string_view alert_id,
                                                                 int64_t opened_at) {
  absl::StatusOr<std::optional<internal::StoredAlert>> stored = ReadAlert(tenant, alert_id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return std::optional<engine::Alert>();
  return engine::FromProto((*stored)->alert, opened_at, (*stored)->event_times);
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
    if (!absl::WebSafeBase64Unescape(q.page_token, &start) || !start.starts_with(prefix)) {
      return absl::InvalidArgumentError("page_token is not from this query");
    }
  } else {
    start = prefix;
    keys::AppendBigEndian64(start, static_cast<uint64_t>(std::min<int64_t>(q.until, INT64_MAX)));
  }
  std::string since_key = prefix;
  keys::AppendBigEndian64(since_key, static_cast<uint64_t>(std::max<int64_t>(q.since, 0)));

  AlertPage page;
  // By identity: within one owner (the start key's), so its Bloom filters apply.
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(by_identity ? internal::OneOwnerReads() : rocksdb::ReadOptions(),
                       cf(by_identity ? kAlertsByIdentity : kAlertsByTime)));
  it->SeekForPrev(start);
  if (it->Valid() && it->key().ToStringView() == start) it->Prev();  // exclusive
  std::string last_key;
  for (; it->Valid(); it->Prev()) {
    const std::string_view key = it->key().ToStringView();
    if (!key.starts_with(prefix) || key < since_key) break;
    const std::string_view alert_id = key.substr(prefix.size() + 8);
    absl::StatusOr<std::optional<v1::Alert>> alert = GetAlert(q.tenant, alert_id);
    if (!alert.ok()) return alert.status();
    if (!alert->has_value()) continue;
    if (!q.rule_id.empty() && (*alert)->rule_id() != q.rule_id) continue;
    if (q.status != v1::Alert::STATUS_UNSPECIFIED && (*alert)->status() != q.status) continue;
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

}  // namespace trailsentry::storage
