// Database reads behind engine::StateReader: an identity's profile, baselines,
// trusted networks, event log and open alerts.
#include <rocksdb/db.h>

#include <algorithm>
#include <iterator>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert_proto.h"
#include "storage/database.h"
#include "storage/internal/codec.h"
#include "storage/internal/identity_record.h"
#include "storage/internal/owner_prefix.h"
#include "storage/keys.h"

namespace trailsentry::storage {

using internal::DecodeEntry;
using internal::FromRocks;

namespace {

// A trusted (or hostile) network: its key's network bytes, and its value (until,
// added_at, big-endian; empty in older directories: trusted forever).
std::optional<engine::TrustedNetwork> DecodeTrusted(std::string_view network_bytes,
                                                    std::string_view value) {
  std::optional<engine::Network> net = keys::ParseNetworkBytes(network_bytes);
  if (!net) return std::nullopt;
  engine::TrustedNetwork t{*net};
  if (value.size() == 16) {
    t.until = static_cast<int64_t>(keys::ReadBigEndian64(value.substr(0, 8)));
    t.added_at = static_cast<int64_t>(keys::ReadBigEndian64(value.substr(8)));
  }
  return t;
}

// A key after every record that starts with `p` and goes on with a big-endian
// event time, within the same owner (so SeekForPrev stays where its filter
// applies): event times are 1970..9999 (checked where events come in), so their
// first byte is far below 0xff.
std::string AfterOwnersRecords(std::string_view p) {
  std::string key(p);
  key.push_back('\xff');
  return key;
}

}  // namespace

absl::StatusOr<engine::StoredIdentity> Database::LoadIdentity(std::string_view tenant,
                                                              std::string_view identity,
                                                              const engine::LogReach& reach) {
  if (absl::Status s = EnsureApplied(); !s.ok()) return s;
  engine::StoredIdentity out;
  const std::string prefix = keys::Identity(tenant, identity);
  if (!MayHoldOwner(prefix)) return out;  // nothing of it was ever written
  // The profile, the baselines and the seen events: one record
  // (internal/identity_record.h).
  std::string value;
  internal::IdentityRecord record;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kIdentity), prefix, &value);
  if (s.ok()) {
    if (!internal::DecodeRecord(value, record)) {
      return absl::DataLossError(absl::StrCat(
          "corrupt identity record (profile, baselines, seen events) of ", AbslView(identity)));
    }
    out.profile = record.profile;
    out.networks.reserve(record.networks.size());
    for (const auto& [bytes, entry] : record.networks) {
      std::optional<engine::Network> net = keys::ParseNetworkBytes(bytes.view());
      if (!net)
        return absl::DataLossError(absl::StrCat("corrupt baseline of ", AbslView(identity)));
      out.networks.emplace_back(*net, entry);
    }
  } else if (!s.IsNotFound()) {
    return FromRocks(s, absl::StrCat("loading profile of ", AbslView(identity)));
  }
  absl::StatusOr<std::vector<engine::TrustedNetwork>> trusted =
      LoadTrusted(tenant, engine::TrustScope::kIdentity, identity);
  if (!trusted.ok()) return trusted.status();
  out.trusted = *std::move(trusted);
  if (!record.seen.empty()) out.newest_logged = record.seen.back().time;
  if (absl::Status st = LoadEventLog(prefix, reach, out); !st.ok()) {
    return absl::Status(st.code(), absl::StrCat(st.message(), " of ", AbslView(identity)));
  }
  if (!record.seen.empty()) {
    // The record's seen events within reach merged into the event log's (both
    // ascending in time; at equal times seen events first, as the log has them).
    std::vector<engine::LoggedEvent> seen;
    const auto from = std::lower_bound(record.seen.begin(), record.seen.end(),
                                       internal::SeenEvent{out.newest_logged - reach.seen_ms, 0});
    seen.reserve(static_cast<size_t>(record.seen.end() - from));
    for (auto it = from; it != record.seen.end(); ++it) {
      engine::LoggedEvent& e = seen.emplace_back();
      e.time = it->time;
      e.id_hash = it->id_hash;
    }
    std::vector<engine::LoggedEvent> events;
    events.reserve(seen.size() + out.events.size());
    std::merge(
        std::make_move_iterator(seen.begin()), std::make_move_iterator(seen.end()),
        std::make_move_iterator(out.events.begin()), std::make_move_iterator(out.events.end()),
        std::back_inserter(events),
        [](const engine::LoggedEvent& a, const engine::LoggedEvent& b) { return a.time < b.time; });
    out.events = std::move(events);
  }
  if (out.newest_logged != INT64_MIN || out.profile) {
    const int64_t newest = std::max(out.newest_logged, out.profile ? out.profile->last_seen : 0);
    if (absl::Status st = LoadOpenAlerts(tenant, prefix, newest - reach.alerts_ms, out); !st.ok()) {
      return st;
    }
  }
  return out;
}

absl::StatusOr<engine::BaselineEntry> Database::LoadAccountBaseline(
    std::string_view tenant, std::string_view account, const engine::Network& network) {
  if (absl::Status s = EnsureApplied(); !s.ok()) return s;
  std::string key = keys::Identity(tenant, account);
  keys::AppendNetwork(key, network);
  if (!MayHoldKey(key)) return engine::BaselineEntry{};
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kAccountBaseline), key, &value);
  if (s.IsNotFound()) return engine::BaselineEntry{};
  if (!s.ok()) return FromRocks(s, "loading account baseline");
  std::optional<engine::BaselineEntry> e = DecodeEntry(value);
  if (!e)
    return absl::DataLossError(absl::StrCat("corrupt account baseline of ", AbslView(account)));
  return *e;
}

absl::StatusOr<std::vector<engine::TrustedNetwork>> Database::LoadTrusted(std::string_view tenant,
                                                                          engine::TrustScope scope,
                                                                          std::string_view name) {
  if (absl::Status s = EnsureApplied(); !s.ok()) return s;
  std::vector<engine::TrustedNetwork> out;
  if (!MayHoldOwner(keys::Identity(tenant, name))) return out;
  const std::string prefix = keys::TrustedPrefix(tenant, scope, name);
  const std::string end = keys::PrefixEnd(prefix);
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(end);
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(kTrusted)));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    std::optional<engine::TrustedNetwork> t =
        DecodeTrusted(it->key().ToStringView().substr(prefix.size()), it->value().ToStringView());
    if (t) out.push_back(*t);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning trusted networks");
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, engine::TrustedNetwork>>>
Database::LoadHostile() {
  if (absl::Status s = EnsureApplied(); !s.ok()) return s;
  std::vector<std::pair<std::string, engine::TrustedNetwork>> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf(kTrusted)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    size_t pos = 0;
    std::optional<std::string_view> tenant = keys::ReadComponent(key, pos);
    if (!tenant || pos >= key.size() || key[pos] != 'h') continue;
    const std::string prefix = keys::TrustedPrefix(*tenant, engine::TrustScope::kHostile, "");
    if (!key.starts_with(prefix)) continue;
    std::optional<engine::TrustedNetwork> t =
        DecodeTrusted(key.substr(prefix.size()), it->value().ToStringView());
    if (t) out.emplace_back(std::string(*tenant), *t);
  }
  if (!it->status().ok()) return FromRocks(it->status(), "scanning hostile networks");
  return out;
}

absl::Status Database::LoadEventLog(std::string_view prefix, const engine::LogReach& reach,
                                    engine::StoredIdentity& out) {
  using engine::LogKind;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(internal::OneOwnerReads(), cf(kEventLog)));
  auto kind_prefix = [&](LogKind kind) {
    std::string p(prefix);
    p.push_back(static_cast<char>(kind));
    return p;
  };
  // Whether the identity logged anything: a forward seek, which the owner
  // Bloom filters answer for an identity that did not (most first reads),
  // where SeekForPrev would still search the memtables for their last key.
  it->Seek(prefix);
  if (!it->status().ok()) return FromRocks(it->status(), "reading event log");
  if (!it->Valid() || !it->key().starts_with(prefix)) return absl::OkStatus();
  // The newest record of any kind: the identity's newest logged event.
  for (LogKind kind : {LogKind::kSeen, LogKind::kBurst, LogKind::kUnusualIp}) {
    const std::string p = kind_prefix(kind);
    it->SeekForPrev(AfterOwnersRecords(p));
    if (it->Valid() && it->key().starts_with(p)) {
      std::optional<keys::EventLogKey> k = keys::ParseEventLogKey(it->key().ToStringView());
      if (!k) return absl::DataLossError("corrupt event log key");
      out.newest_logged = std::max(out.newest_logged, k->time);
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading event log");
  }
  if (out.newest_logged == INT64_MIN) return absl::OkStatus();
  for (LogKind kind : {LogKind::kSeen, LogKind::kBurst, LogKind::kUnusualIp}) {
    const std::string p = kind_prefix(kind);
    // The unusual-IP rule deletes the calls it prunes: all that is left is read.
    const int64_t reach_ms = kind == LogKind::kSeen    ? reach.seen_ms
                             : kind == LogKind::kBurst ? reach.burst_ms
                                                       : INT64_MAX / 4;
    std::string from = p;
    keys::AppendBigEndian64(
        from, static_cast<uint64_t>(std::max<int64_t>(0, out.newest_logged - reach_ms)));
    for (it->Seek(from); it->Valid() && it->key().starts_with(p); it->Next()) {
      std::optional<keys::EventLogKey> k = keys::ParseEventLogKey(it->key().ToStringView());
      if (!k) return absl::DataLossError("corrupt event log key");
      if (kind == LogKind::kSeen) {  // a batch's packed (time, id) pairs
        const std::string_view packed = it->value().ToStringView();
        if (packed.size() % 16 != 0) return absl::DataLossError("corrupt event log record");
        for (size_t pos = 0; pos < packed.size(); pos += 16) {
          engine::LoggedEvent e;
          e.time = static_cast<int64_t>(keys::ReadBigEndian64(packed.substr(pos, 8)));
          e.id_hash = keys::ReadBigEndian64(packed.substr(pos + 8, 8));
          if (e.time >= out.newest_logged - reach_ms) out.events.push_back(std::move(e));
        }
        continue;
      }
      engine::LoggedEvent e;
      e.kind = k->kind;
      e.time = k->time;
      e.id_hash = k->id_hash;
      const std::string_view value = it->value().ToStringView();
      size_t pos = 0;
      for (std::string* field :
           {&e.event_id, &e.action, &e.provider, &e.source_ip, &e.region, &e.user_agent,
            &e.access_key_id, &e.account, &e.identity_type, &e.user_name}) {
        std::optional<std::string_view> part = keys::ReadComponent(value, pos);
        if (!part) return absl::DataLossError("corrupt event log record");
        field->assign(*part);
      }
      out.events.push_back(std::move(e));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "reading event log");
  }
  std::stable_sort(
      out.events.begin(), out.events.end(),
      [](const engine::LoggedEvent& a, const engine::LoggedEvent& b) { return a.time < b.time; });
  return absl::OkStatus();
}

absl::Status Database::LoadOpenAlerts(std::string_view tenant, std::string_view prefix,
                                      int64_t from, engine::StoredIdentity& out) {
  // Newest first by opened_at. An unusual-IP alert that can still change opened
  // at or after `from`. A burst alert can be opened long before (an episode goes
  // on while calls keep coming), but an identity's episodes never overlap: once
  // one ended before `from`, every earlier one did too.
  bool bursts_done = false;
  std::unique_ptr<rocksdb::Iterator> idx(
      db_->NewIterator(internal::OneOwnerReads(), cf(kAlertsByIdentity)));
  idx->SeekForPrev(AfterOwnersRecords(prefix));
  for (; idx->Valid() && idx->key().starts_with(prefix); idx->Prev()) {
    const std::string_view key = idx->key().ToStringView();
    const auto opened_at =
        static_cast<int64_t>(keys::ReadBigEndian64(key.substr(prefix.size(), 8)));
    if (bursts_done && opened_at < from) break;
    absl::StatusOr<std::optional<engine::Alert>> alert =
        LoadAlert(tenant, key.substr(prefix.size() + 8), opened_at);
    if (!alert.ok()) return alert.status();
    if (!alert->has_value()) continue;
    const engine::Alert& a = **alert;
    if (!a.superseded_by.empty()) continue;
    if (a.last_event_time < from) {
      if (a.rule == engine::Rule::kBurst) bursts_done = true;
      continue;
    }
    out.open_alerts.push_back(**std::move(alert));
  }
  if (!idx->status().ok()) return FromRocks(idx->status(), "reading alert index");
  return absl::OkStatus();
}

}  // namespace trailsentry::storage
