// Database: moving an account's state between data directories (replicas of an
// account-sharded fleet; docs/operations.md "Moving accounts").
//
// An export file holds every record of one (tenant, account), as stored:
//   "TSACCT1\n" | varint export version | component tenant | component account |
//   8 bytes big-endian watermark | records... | "\0END" | varint record count
// where a record is a column family byte, a component key and a component value.
// The trailer makes a truncated file fail to import rather than import a part.
// Export version 3 holds schema 4's records (an identity's profile, baselines
// and seen events in one identity record); version 2, written by builds of
// schema 3, the same records without seen events, imported as they are;
// version 1, written by builds of schema 2,
// holds a profile per identity and a baseline key per network, and is imported
// as identity records.
#include <fcntl.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/printable.h"
#include "storage/database.h"
#include "storage/internal/codec.h"
#include "storage/internal/identity_record.h"
#include "storage/internal/owner_prefix.h"
#include "storage/keys.h"
#include "trailsentry/shard_key.h"

namespace trailsentry::storage {

using internal::FromRocks;

namespace {

constexpr char kMagic[] = "TSACCT1\n";
constexpr char kTrailer[] = {'\0', 'E', 'N', 'D'};
constexpr uint64_t kExportSchema = 3;
constexpr uint64_t kExportSchemaOfRecords = 2;   // schema 3's records: no seen events
constexpr uint64_t kExportSchemaOfProfiles = 1;  // schema 2's profiles and baselines

}  // namespace

absl::StatusOr<std::vector<Database::AccountRef>> Database::ListAccounts() {
  if (absl::Status s = ApplyJournal(); !s.ok()) return s;
  std::set<std::pair<std::string, std::string>> found;
  for (Cf c : {kIdentity, kAccountBaseline}) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(internal::AllOwnersReads(), cf(c)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string_view key = it->key().ToStringView();
      size_t pos = 0;
      std::optional<std::string_view> tenant = keys::ReadComponent(key, pos);
      std::optional<std::string_view> owner = keys::ReadComponent(key, pos);
      if (!tenant || !owner) return absl::DataLossError("corrupt key listing accounts");
      found.emplace(std::string(*tenant),
                    std::string(c == kIdentity ? IdentityAccount(*owner) : *owner));
    }
    if (!it->status().ok()) return FromRocks(it->status(), "listing accounts");
  }
  std::vector<AccountRef> out;
  out.reserve(found.size());
  for (const auto& [tenant, account] : found) out.push_back({tenant, account});
  return out;
}

absl::StatusOr<std::map<std::string, std::set<std::string>>> Database::IdentitiesByAccount(
    std::string_view tenant) {
  std::map<std::string, std::set<std::string>> out;
  const std::string tenant_prefix = keys::Tenant(tenant);
  auto add_owners = [&](Cf c, const std::string& prefix) -> absl::Status {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(internal::AllOwnersReads(), cf(c)));
    std::string last;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      size_t pos = prefix.size();
      std::optional<std::string_view> id = keys::ReadComponent(it->key().ToStringView(), pos);
      if (!id) return absl::DataLossError("corrupt key exporting an account");
      if (*id == last) continue;
      last = std::string(*id);
      out[std::string(IdentityAccount(*id))].insert(last);
    }
    return it->status().ok() ? absl::OkStatus() : FromRocks(it->status(), "exporting");
  };
  for (Cf c : {kIdentity, kEventLog, kAlertsByIdentity}) {
    if (absl::Status s = add_owners(c, tenant_prefix); !s.ok()) return s;
  }
  // Identities with trusted networks only: tenant | 'i' | identity | ...
  const std::string trusted = keys::TrustedPrefix(tenant, engine::TrustScope::kIdentity, "")
                                  .substr(0, tenant_prefix.size() + 1);
  if (absl::Status s = add_owners(kTrusted, trusted); !s.ok()) return s;
  return out;
}

absl::Status Database::CollectAccount(const AccountRef& a, const std::set<std::string>& identities,
                                      std::vector<TransferRecord>& out) {
  out.clear();
  auto scan = [&](Cf c, const std::string& prefix, bool one_owner) -> absl::Status {
    rocksdb::ReadOptions ro = one_owner ? internal::OneOwnerReads() : internal::AllOwnersReads();
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf(c)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      out.push_back({static_cast<int>(c), it->key().ToString(), it->value().ToString()});
    }
    return it->status().ok() ? absl::OkStatus() : FromRocks(it->status(), "exporting");
  };
  auto get = [&](Cf c, const std::string& key) -> absl::Status {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(c), key, &value);
    if (s.IsNotFound()) return absl::OkStatus();
    if (!s.ok()) return FromRocks(s, "exporting");
    out.push_back({static_cast<int>(c), key, std::move(value)});
    return absl::OkStatus();
  };

  for (const std::string& id : identities) {
    const std::string prefix = keys::Identity(a.tenant, id);
    if (absl::Status s = get(kIdentity, prefix); !s.ok()) return s;  // profile and baselines
    if (absl::Status s = scan(kEventLog, prefix, true); !s.ok()) return s;
    if (absl::Status s =
            scan(kTrusted, keys::TrustedPrefix(a.tenant, engine::TrustScope::kIdentity, id), false);
        !s.ok()) {
      return s;
    }
    // Alerts: the identity index, and for each alert its record, time index and triage.
    const size_t before = out.size();
    if (absl::Status s = scan(kAlertsByIdentity, prefix, true); !s.ok()) return s;
    const size_t after = out.size();
    for (size_t i = before; i < after; ++i) {
      const std::string key = out[i].key;  // copied: `out` grows below
      if (key.size() < prefix.size() + 8) return absl::DataLossError("corrupt alert index key");
      const auto opened_at =
          static_cast<int64_t>(keys::ReadBigEndian64(key.substr(prefix.size(), 8)));
      const std::string alert_id = key.substr(prefix.size() + 8);
      if (absl::Status s = get(kAlerts, keys::Alert(a.tenant, alert_id)); !s.ok()) return s;
      if (absl::Status s = get(kAlertsByTime, keys::AlertByTime(a.tenant, opened_at, alert_id));
          !s.ok()) {
        return s;
      }
      if (absl::Status s = get(kAlertTriage, keys::Alert(a.tenant, alert_id)); !s.ok()) return s;
    }
  }
  // The account's own baseline and trusted networks, and the tenant's hostile
  // networks (tenant-wide: every replica of the tenant should know them).
  if (absl::Status s = scan(kAccountBaseline, keys::Identity(a.tenant, a.account), true); !s.ok()) {
    return s;
  }
  if (absl::Status s = scan(
          kTrusted, keys::TrustedPrefix(a.tenant, engine::TrustScope::kAccount, a.account), false);
      !s.ok()) {
    return s;
  }
  {
    const std::string hostile = keys::TrustedPrefix(a.tenant, engine::TrustScope::kHostile, "")
                                    .substr(0, keys::Tenant(a.tenant).size() + 1);
    if (absl::Status s = scan(kTrusted, hostile, false); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Database::ExportAccount(const AccountRef& a, const std::string& path,
                                                 bool remove) {
  uint64_t written = 0;
  absl::Status s = ExportAccounts(
      {a}, [&](const AccountRef&) { return path; }, remove,
      [&](const AccountRef&, const std::string&, uint64_t records) { written = records; });
  if (!s.ok()) return s;
  return written;
}

absl::Status Database::ExportAccounts(
    const std::vector<AccountRef>& accounts,
    absl::FunctionRef<std::string(const AccountRef&)> path_of, bool remove,
    absl::FunctionRef<void(const AccountRef&, const std::string& path, uint64_t records)>
        on_exported) {
  if (absl::Status s = ApplyJournal(); !s.ok()) return s;
  // Each tenant's identities read once, then every account of it exported.
  std::map<std::string, std::vector<const AccountRef*>> by_tenant;
  for (const AccountRef& a : accounts) by_tenant[a.tenant].push_back(&a);
  for (const auto& [tenant, refs] : by_tenant) {
    absl::StatusOr<std::map<std::string, std::set<std::string>>> identities =
        IdentitiesByAccount(tenant);
    if (!identities.ok()) return identities.status();
    static const std::set<std::string> kNone;
    for (const AccountRef* a : refs) {
      auto it = identities->find(a->account);
      const std::string path = path_of(*a);
      absl::StatusOr<uint64_t> n =
          WriteExport(*a, it == identities->end() ? kNone : it->second, path, remove);
      if (!n.ok()) return n.status();
      on_exported(*a, path, *n);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> Database::WriteExport(const AccountRef& a,
                                               const std::set<std::string>& identities,
                                               const std::string& path, bool remove) {
  std::vector<TransferRecord> records;
  if (absl::Status s = CollectAccount(a, identities, records); !s.ok()) return s;
  std::string out(kMagic);
  internal::PutVarint(out, kExportSchema);
  keys::AppendComponent(out, a.tenant);
  keys::AppendComponent(out, a.account);
  keys::AppendBigEndian64(out, static_cast<uint64_t>(watermark()));
  for (const TransferRecord& r : records) {
    out.push_back(static_cast<char>(r.cf));
    keys::AppendComponent(out, r.key);
    keys::AppendComponent(out, r.value);
  }
  out.append(kTrailer, sizeof kTrailer);
  internal::PutVarint(out, records.size());

  // Written whole to a temporary name, synced, then renamed: a file at `path`
  // is always complete.
  const std::string tmp = path + ".partial";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return absl::UnavailableError(absl::StrCat(tmp, ": ", std::strerror(errno)));
  size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return absl::UnavailableError(absl::StrCat(tmp, ": ", std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat(path, ": ", std::strerror(errno)));
  }
  // The rename itself made durable (the directory synced) before anything is
  // deleted from the source: a crash cannot leave the account in neither place.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dir_fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
    const int err = errno;
    if (dir_fd >= 0) ::close(dir_fd);
    return absl::UnavailableError(
        absl::StrCat(dir, ": syncing the directory: ", std::strerror(err)));
  }
  ::close(dir_fd);
  if (!remove) return records.size();

  // Deleted only now that the file is whole on disk: the records just written.
  const std::string hostile = keys::TrustedPrefix(a.tenant, engine::TrustScope::kHostile, "")
                                  .substr(0, keys::Tenant(a.tenant).size() + 1);
  StateBatch batch(*this);
  for (const TransferRecord& r : records) {
    if (r.cf == kTrusted && r.key.starts_with(hostile))
      continue;  // the tenant's, not the account's
    batch.batch_->Delete(cf(static_cast<Cf>(r.cf)), r.key);
    ++batch.writes_;
  }
  if (absl::Status s = Commit(batch); !s.ok()) return s;
  return records.size();
}

absl::StatusOr<Database::ImportReport> Database::ImportAccount(const std::string& path) {
  if (absl::Status s = ApplyJournal(); !s.ok()) return s;
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot be read"));
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto corrupt = [&](std::string_view why) {
    return absl::DataLossError(
        absl::StrCat(path, " is not a whole trailsentry account export (", AbslView(why), ")"));
  };
  const std::string_view d = data;
  if (!d.starts_with(kMagic)) return corrupt("no header");
  size_t pos = std::strlen(kMagic);
  uint64_t schema = 0;
  if (!internal::GetVarint(d, pos, schema)) return corrupt("no version");
  if (schema != kExportSchema && schema != kExportSchemaOfRecords &&
      schema != kExportSchemaOfProfiles) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has export version ", schema, "; this build reads ",
                     kExportSchemaOfProfiles, " to ", kExportSchema));
  }
  const bool profiles = schema == kExportSchemaOfProfiles;
  ImportReport report;
  std::optional<std::string_view> tenant = keys::ReadComponent(d, pos);
  std::optional<std::string_view> account = keys::ReadComponent(d, pos);
  if (!tenant || !account || pos + 8 > d.size()) return corrupt("header cut short");
  report.account = {std::string(*tenant), std::string(*account)};
  const auto watermark = static_cast<int64_t>(keys::ReadBigEndian64(d.substr(pos, 8)));
  pos += 8;

  StateBatch batch(*this);
  uint64_t records = 0;
  while (true) {
    if (pos + sizeof kTrailer <= d.size() &&
        d.substr(pos, sizeof kTrailer) == std::string_view(kTrailer, sizeof kTrailer)) {
      pos += sizeof kTrailer;
      break;
    }
    if (pos >= d.size()) return corrupt("no trailer: the file was cut short");
    const auto c = static_cast<uint8_t>(d[pos++]);
    std::optional<std::string_view> key = keys::ReadComponent(d, pos);
    std::optional<std::string_view> value = keys::ReadComponent(d, pos);
    if (c == kMeta || c >= kCfCount || c == kAlertChanges || (c == kBaseline && !profiles) ||
        !key || !value) {
      return corrupt(absl::StrCat("record ", records));
    }
    // Version 1: a profile, or one baseline network, becomes (part of) an
    // identity record, written as a merge operand as commits write them.
    std::string_view owner = *key;
    std::string converted;
    if (profiles && (c == kIdentity || c == kBaseline)) {
      size_t end = 0;
      if (!keys::ReadComponent(*key, end) || !keys::ReadComponent(*key, end)) {
        return corrupt(absl::StrCat("record ", records));
      }
      owner = key->substr(0, end);
      std::optional<engine::BaselineEntry> entry = internal::DecodeEntry(*value);
      if (!entry || (c == kIdentity) != (end == key->size())) {
        return corrupt(absl::StrCat("record ", records));
      }
      internal::AppendRecordStart(converted, c == kIdentity ? &*entry : nullptr);
      if (c == kBaseline) {
        if (!keys::ParseNetworkBytes(key->substr(end))) {
          return corrupt(absl::StrCat("record ", records));
        }
        internal::AppendRecordNetwork(converted, key->substr(end), *entry);
      }
    }
    // Never merged into state already there: that would mix two histories.
    if (c == kIdentity || c == kAccountBaseline || (profiles && c == kBaseline)) {
      const Cf checked = c == kAccountBaseline ? kAccountBaseline : kIdentity;
      std::string existing;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(checked), owner, &existing);
      if (s.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat(AbslView(path), ": this directory already holds state of account ",
                         engine::Printable(*account), " (tenant ", engine::Printable(*tenant),
                         "); import into a replica that has none, or delete it there first"));
      }
      if (!s.IsNotFound()) return FromRocks(s, "checking before import");
    }
    if (profiles && (c == kIdentity || c == kBaseline)) {
      batch.batch_->Merge(cf(kIdentity), owner, converted);
    } else {
      batch.batch_->Put(cf(static_cast<Cf>(c)), *key, *value);
    }
    ++batch.writes_;
    ++records;
  }
  uint64_t count = 0;
  if (!internal::GetVarint(d, pos, count) || count != records || pos != d.size()) {
    return corrupt("record count");
  }
  batch.newest_ = watermark;
  if (absl::Status s = Commit(batch); !s.ok()) return s;
  report.records = records;
  return report;
}

}  // namespace trailsentry::storage
