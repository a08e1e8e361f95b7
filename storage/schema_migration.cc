// Database: upgrading a data directory of an earlier schema version when it is
// opened.
//
// Schema 3 to 4: schema 4 adds an identity's seen events to its record
// (internal/identity_record.h). A schema-3 record is a schema-4 record without
// them, and the seen-event records schema 3 kept in the event log are still
// read until they expire, so only the version changes.
//
// Schema 2 to 4: schema 2 kept an identity's profile in "identity" (tenant |
// identity: a baseline entry) and each of its networks in "baseline" (tenant |
// identity | network: a baseline entry); schema 3 and later keep both in one
// identity record and leave "baseline" empty.
//
// Owners are moved in key order, a few thousand per write batch; each batch
// also records the last owner it moved, so a run cut short (a crash, a full
// disk) resumes after it on the next open instead of reading a moved record as
// a profile. The schema version is set by the last batch.
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/printable.h"
#include "storage/database.h"
#include "storage/internal/codec.h"
#include "storage/internal/identity_record.h"
#include "storage/internal/owner_prefix.h"
#include "storage/keys.h"

namespace trailsentry::storage {

using internal::FromRocks;

namespace {

constexpr char kMovedThroughKey[] = "schema3_moved_through";
constexpr size_t kOwnersPerBatch = 4096;

// The owner (tenant | identity) a key of "identity" or "baseline" starts with.
std::optional<std::string_view> OwnerOf(std::string_view key) {
  size_t end = 0;
  if (!keys::ReadComponent(key, end) || !keys::ReadComponent(key, end)) return std::nullopt;
  return key.substr(0, end);
}

}  // namespace

absl::Status Database::MigrateFromSchema3() {
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status s =
      db_->Put(sync, cf(kMeta), kSchemaKey, rocksdb::Slice(std::to_string(kSchemaVersion)));
  if (!s.ok()) return FromRocks(s, "writing schema version");
  spdlog::info("storage: upgraded {} from schema version 3 to {} (nothing to move)", path_,
               kSchemaVersion);
  return absl::OkStatus();
}

absl::Status Database::MigrateFromSchema2() {
  std::string moved_through;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(kMeta), kMovedThroughKey, &moved_through);
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, "reading the upgrade's progress");
  spdlog::info("storage: upgrading {} from schema version 2 to {}{}", path_, kSchemaVersion,
               moved_through.empty() ? "" : " (resuming)");

  // Both iterators read the directory as it was before the first batch below.
  std::unique_ptr<rocksdb::Iterator> profiles(
      db_->NewIterator(internal::AllOwnersReads(), cf(kIdentity)));
  std::unique_ptr<rocksdb::Iterator> baselines(
      db_->NewIterator(internal::AllOwnersReads(), cf(kBaseline)));
  if (moved_through.empty()) {
    profiles->SeekToFirst();
    baselines->SeekToFirst();
  } else {  // owner keys are prefix-free: PrefixEnd is past all of that owner's keys
    const std::string after = keys::PrefixEnd(moved_through);
    profiles->Seek(after);
    baselines->Seek(after);
  }
  auto damaged = [](std::string_view what, std::string_view key) {
    return absl::DataLossError(absl::StrCat("a damaged ", AbslView(what), " at key ",
                                            engine::Printable(key),
                                            "; run `trailsentry admin repair` with the "
                                            "build that wrote the directory, or rebuild it"));
  };

  rocksdb::WriteBatch batch;
  internal::IdentityRecord record;
  std::string owner, value;
  uint64_t owners = 0, networks = 0;
  while (profiles->Valid() || baselines->Valid()) {
    std::optional<std::string_view> next;
    if (profiles->Valid()) next = profiles->key().ToStringView();
    if (baselines->Valid()) {
      std::optional<std::string_view> b = OwnerOf(baselines->key().ToStringView());
      if (!b) return damaged("baseline key", baselines->key().ToStringView());
      if (!next || *b < *next) next = b;
    }
    owner.assign(*next);
    record.profile.reset();
    record.networks.clear();
    if (profiles->Valid() && profiles->key().ToStringView() == owner) {
      record.profile = internal::DecodeEntry(profiles->value().ToStringView());
      if (!record.profile) return damaged("profile", owner);
      profiles->Next();
    }
    bool had_baselines = false;
    for (; baselines->Valid(); baselines->Next()) {
      const std::string_view key = baselines->key().ToStringView();
      if (!key.starts_with(owner) || OwnerOf(key) != std::string_view(owner)) break;
      const std::string_view bytes = key.substr(owner.size());
      std::optional<engine::BaselineEntry> entry =
          internal::DecodeEntry(baselines->value().ToStringView());
      const std::optional<engine::Network> network = keys::ParseNetworkBytes(bytes);
      if (!entry || !network) return damaged("baseline", key);
      // In key order: ascending, as records keep them.
      record.networks.emplace_back(keys::EncodeNetwork(*network), *entry);
      had_baselines = true;
    }
    value.clear();
    internal::EncodeRecord(record, value);
    batch.Put(cf(kIdentity), owner, value);
    if (had_baselines) batch.DeleteRange(cf(kBaseline), owner, keys::PrefixEnd(owner));
    networks += record.networks.size();
    if (++owners % kOwnersPerBatch == 0) {
      batch.Put(cf(kMeta), kMovedThroughKey, owner);
      s = db_->Write(rocksdb::WriteOptions(), &batch);
      if (!s.ok()) return FromRocks(s, "writing upgraded records");
      batch.Clear();
    }
  }
  if (!profiles->status().ok()) return FromRocks(profiles->status(), "reading profiles");
  if (!baselines->status().ok()) return FromRocks(baselines->status(), "reading baselines");
  batch.Delete(cf(kMeta), kMovedThroughKey);
  batch.Put(cf(kMeta), kSchemaKey, std::to_string(kSchemaVersion));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  s = db_->Write(sync, &batch);
  if (!s.ok()) return FromRocks(s, "writing upgraded records");
  spdlog::info("storage: upgraded to schema version {}: {} identities, {} baseline networks",
               kSchemaVersion, owners, networks);
  return absl::OkStatus();
}

}  // namespace trailsentry::storage
