// `trailsentry scan`: the engine in-process over CloudTrail files.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "client/alert_collector.h"
#include "client/commands.h"
#include "client/input_files.h"
#include "server/engine/alert_proto.h"
#include "server/engine/engine.h"
#include "server/engine/tenant.h"
#include "server/pipeline/file_scan.h"
#include "storage/database.h"

namespace trailsentry::cli {
namespace {

class ScanReport : public pipeline::ScanObserver {
 public:
  explicit ScanReport(RunSummary& summary) : summary_(summary) {}
  void Rejected(const std::string& file, size_t index, const engine::RecordError& err) override {
    summary_.Reject(absl::StrCat(file, " record ", index), err.field,
                    absl::StrCat(err.field, ": ", err.reason));
  }
  void Unreadable(const std::string&, const absl::Status& status) override {
    std::fprintf(stderr, "unreadable: %s\n", std::string(status.message()).c_str());
  }
  void Progress(uint64_t events) override {
    summary_.events = events;
    summary_.MaybeProgress(stderr);
  }

 private:
  RunSummary& summary_;
};

}  // namespace

int RunScan(const ScanOptions& options, const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<std::string>> files = ExpandInputs(paths);
  if (!files.ok()) {
    std::fprintf(stderr, "trailsentry scan: %s\n", std::string(files.status().message()).c_str());
    return kExitUsage;
  }
  if (options.threads < 0) {
    std::fprintf(stderr, "trailsentry scan: --threads must be 0 (every core) or more\n");
    return kExitUsage;
  }
  if (!engine::IsValidTenant(options.tenant)) {
    std::fprintf(stderr,
                 "trailsentry scan: --tenant must be 1-64 characters of letters, digits, '.', "
                 "'_', '-'\n");
    return kExitUsage;
  }
  // An empty data_dir keeps the database in memory: the same engine, the same
  // evictions and read-backs, the same alerts, nothing on disk.
  absl::StatusOr<std::unique_ptr<storage::Database>> opened =
      storage::Database::Open({.path = options.data_dir, .config = &options.config, .wal = false});
  if (!opened.ok()) {
    std::fprintf(stderr, "trailsentry scan: %s\n", std::string(opened.status().message()).c_str());
    return absl::IsResourceExhausted(opened.status()) ? kExitFailed : kExitUsage;
  }
  std::unique_ptr<storage::Database> db = *std::move(opened);
  absl::StatusOr<std::unique_ptr<engine::Engine>> eng =
      engine::Engine::Create(options.config, db.get());
  if (!eng.ok()) {
    std::fprintf(stderr, "trailsentry scan: %s\n", std::string(eng.status().message()).c_str());
    return kExitUsage;
  }

  RunSummary summary;
  ScanReport report(summary);
  pipeline::FileScan scan(**eng, db.get(), {.threads = options.threads, .tenant = options.tenant});
  absl::StatusOr<pipeline::ScanTotals> totals = scan.Run(*files, report);
  if (!totals.ok()) {
    // Alerts judged on state that could not be read or kept are not printed: a
    // resource fault fails the run loudly instead of changing its results.
    std::fprintf(stderr,
                 "trailsentry scan: stopped (alerts not printed; the data directory holds "
                 "every batch committed before): %s\n",
                 std::string(totals.status().message()).c_str());
    return kExitFailed;
  }
  summary.files = totals->files;
  summary.unreadable_files = totals->unreadable_files;
  summary.events = totals->events;
  summary.accepted = totals->accepted;
  AlertCollector alerts;
  for (const engine::AlertChange& change : totals->alerts) {
    v1::Alert proto;
    engine::ToProto(change.alert, &proto);
    alerts.Add(proto, change.is_new);
  }
  alerts.PrintJsonLines(stdout, options.ocsf);
  std::fflush(stdout);
  summary.Print(stderr, "scan", alerts);
  return summary.rejected > 0 || summary.unreadable_files > 0 ? kExitInputErrors : kExitOk;
}

}  // namespace trailsentry::cli
