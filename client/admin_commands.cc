// `trailsentry admin`: backup (a live server), repair and restore (offline),
// owner (which replica of a sharded fleet owns an account), export and import
// (moving accounts between replicas' data directories, offline).
#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "server/engine/absl_view.h"
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

// A file name part: [A-Za-z0-9_.-] as is, other bytes as %XX.
std::string FileNamePart(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
        (c == '.' && !out.empty())) {
      out.push_back(c);
    } else {
      absl::StrAppendFormat(&out, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return out;
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

int RunExport(const engine::Config& config, const ExportOptions& options) {
  if (options.out_dir.empty()) {
    std::fprintf(stderr, "trailsentry admin export: --out DIR is required\n");
    return kExitUsage;
  }
  const bool by_ring = !options.replicas.empty();
  if (by_ring == !options.accounts.empty() || (by_ring && options.shard_self.empty())) {
    std::fprintf(stderr,
                 "trailsentry admin export: name the ACCOUNTs, or give --replicas (the new ring) "
                 "and --shard_self (this directory's replica) to export every account it no "
                 "longer owns\n");
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<storage::Database>> db =
      storage::Database::Open({.path = options.data_dir, .config = &config});
  if (!db.ok()) return Fail("export", db.status());
  absl::StatusOr<std::vector<storage::Database::AccountRef>> held = (*db)->ListAccounts();
  if (!held.ok()) return Fail("export", held.status());
  const engine::ShardRing ring(options.replicas);
  std::vector<storage::Database::AccountRef> chosen;
  for (const storage::Database::AccountRef& a : *held) {
    const bool wanted = by_ring ? ring.Owner(a.account) != options.shard_self
                                : absl::c_linear_search(options.accounts, a.account);
    if (wanted) chosen.push_back(a);
  }
  std::error_code ec;
  std::filesystem::create_directories(options.out_dir, ec);
  if (ec) return Fail("export", absl::UnavailableError(options.out_dir + ": " + ec.message()));
  absl::Status exported = (*db)->ExportAccounts(
      chosen,
      [&](const storage::Database::AccountRef& a) {
        return absl::StrCat(options.out_dir, "/", FileNamePart(a.tenant), ".",
                            FileNamePart(a.account), ".tsacct");
      },
      options.remove,
      [&](const storage::Database::AccountRef& a, const std::string& path, uint64_t records) {
        std::printf(
            "%s\t%llu records%s%s%s\n", path.c_str(), static_cast<unsigned long long>(records),
            options.remove ? ", removed from " : "", options.remove ? options.data_dir.c_str() : "",
            by_ring ? absl::StrCat(" (now owned by ", AbslView(ring.Owner(a.account)), ")").c_str()
                    : "");
        std::fflush(stdout);
      });
  if (!exported.ok()) return Fail("export", exported);
  if (chosen.empty()) std::printf("nothing to export\n");
  return kExitOk;
}

int RunImport(const engine::Config& config, const std::string& data_dir,
              const std::vector<std::string>& files) {
  absl::StatusOr<std::unique_ptr<storage::Database>> db =
      storage::Database::Open({.path = data_dir, .config = &config});
  if (!db.ok()) return Fail("import", db.status());
  for (const std::string& file : files) {
    absl::StatusOr<storage::Database::ImportReport> r = (*db)->ImportAccount(file);
    if (!r.ok()) return Fail("import", r.status());
    std::printf("%s: account %s of tenant %s, %llu records\n", file.c_str(),
                engine::Printable(r->account.account).c_str(),
                engine::Printable(r->account.tenant).c_str(),
                static_cast<unsigned long long>(r->records));
  }
  return kExitOk;
}

}  // namespace trailsentry::cli
