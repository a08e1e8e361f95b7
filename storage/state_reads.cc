// Database reads behind engine::StateReader: baselines, trusted networks and
// the burst window log of an identity.
#include <rocksdb/db.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert_proto.h"
#include "storage/database.h"
#include "storage/internal/codec.h"
#include "storage/keys.h"

namespace trailsentry::storage {

using internal::DecodeEntry;
using internal::FromRocks;

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

}  // namespace trailsentry::storage
