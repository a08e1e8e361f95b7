// `trailsentry admin`: backup (a live server), repair and restore (offline),
// owner (which replica of a sharded fleet owns an account).
#include <cstdio>
#include <string>

#include "client/commands.h"
#include "server/engine/event_time.h"
#include "server/engine/printable.h"
#include "server/engine/shard_ring.h"
#include "storage/database.h"

namespace trailsentry::cli {
namespace {

int Fail(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "trailsentry admin %s: %s\n", what, std::string(s.message()).c_str());
  return kExitFailed;
}

}  // namespace

int RunBackup(const Client::Options& connection, const std::string& name) {
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(connection);
  if (!client.ok()) return Fail("backup", client.status());
  absl::StatusOr<v1::BackupResponse> r = (*client)->Backup(name);
  if (!r.ok()) return Fail("backup", r.status());
  std::printf("backup written on the server's host: %s (%llu bytes, events up to %s)\n",
              r->path().c_str(), static_cast<unsigned long long>(r->bytes()),
              engine::FormatRfc3339(r->watermark().seconds() * 1000).c_str());
  return kExitOk;
}

int RunOwner(const std::vector<std::string>& replicas, const std::vector<std::string>& accounts) {
  if (replicas.empty()) {
    std::fprintf(stderr,
                 "trailsentry admin owner: no replicas (--replicas A,B,... or a --config with "
                 "server.shard.replicas)\n");
    return kExitUsage;
  }
  const engine::ShardRing ring(replicas);
  for (const std::string& account : accounts) {
    std::printf("%s\t%s\n", engine::Printable(account).c_str(),
                std::string(ring.Owner(account)).c_str());
  }
  return kExitOk;
}

int RunRepair(const engine::Config& config, const std::string& data_dir) {
  absl::StatusOr<storage::Database::RepairReport> r =
      storage::Database::Repair({.path = data_dir, .config = &config});
  if (!r.ok()) return Fail("repair", r.status());
  std::printf(
      "repaired %s: replayed its write-ahead log up to the last intact record.\n"
      "The damaged directory is kept as %s.\n"
      "State now holds events up to %s: re-send CloudTrail from that time on (events sent "
      "twice are recognised as duplicates).\n",
      data_dir.c_str(), r->kept.c_str(), engine::FormatRfc3339(r->watermark).c_str());
  return kExitOk;
}

int RunRestore(const engine::Config& config, const std::string& backup,
               const std::string& data_dir) {
  absl::StatusOr<int64_t> watermark =
      storage::Database::Restore(backup, {.path = data_dir, .config = &config});
  if (!watermark.ok()) return Fail("restore", watermark.status());
  std::printf(
      "restored %s into %s; it holds events up to %s: re-send CloudTrail from that time on.\n",
      backup.c_str(), data_dir.c_str(), engine::FormatRfc3339(*watermark).c_str());
  return kExitOk;
}

}  // namespace trailsentry::cli
