// `trailsentry scan`: the engine in-process over CloudTrail files.
#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/alert_collector.h"
#include "client/commands.h"
#include "client/input_files.h"
#include "server/engine/alert_proto.h"
#include "server/engine/engine.h"
#include "server/engine/record_parser.h"
#include "server/engine/record_reader.h"
#include "storage/database.h"
#include "storage/transaction.h"

namespace trailsentry::cli {

int RunScan(const engine::Config& config, const std::string& data_dir,
            const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<std::string>> files = ExpandInputs(paths);
  if (!files.ok()) {
    std::fprintf(stderr, "trailsentry scan: %s\n", std::string(files.status().message()).c_str());
    return kExitUsage;
  }
  // An empty data_dir keeps the database in memory: the same engine, the same
  // evictions and read-backs, the same alerts, nothing on disk.
  absl::StatusOr<std::unique_ptr<storage::Database>> opened =
      storage::Database::Open({.path = data_dir, .config = &config, .wal = false});
  if (!opened.ok()) {
    std::fprintf(stderr, "trailsentry scan: %s\n", std::string(opened.status().message()).c_str());
    return absl::IsResourceExhausted(opened.status()) ? kExitFailed : kExitUsage;
  }
  std::unique_ptr<storage::Database> db = *std::move(opened);
  absl::StatusOr<std::unique_ptr<engine::Engine>> eng = engine::Engine::Create(config, db.get());
  if (!eng.ok()) {
    std::fprintf(stderr, "trailsentry scan: %s\n", std::string(eng.status().message()).c_str());
    return kExitUsage;
  }
  engine::Engine& engine = **eng;
  constexpr char kTenant[] = "default";
  const engine::EventTime now = absl::ToUnixMillis(absl::Now());

  RunSummary summary;
  AlertCollector alerts;
  engine::RecordReader reader;
  std::vector<engine::AlertChange> changes;
  // State goes to disk in one transaction per stretch of events.
  constexpr uint64_t kCommitEvery = 100000;
  auto tx = std::make_unique<storage::Transaction>(engine, db.get());
  absl::Status storage_status;
  auto commit = [&] {
    if (absl::Status s = tx->Commit(); !s.ok() && storage_status.ok()) storage_status = s;
    tx = std::make_unique<storage::Transaction>(engine, db.get());
  };
  for (const std::string& file : *files) {
    ++summary.files;
    if (!storage_status.ok()) break;
    absl::Status st = reader.ReadFile(file, [&](size_t index, const engine::RecordOrError& r) {
      if (!storage_status.ok()) return;  // failed: read no further
      ++summary.events;
      engine::Event ev;
      std::optional<engine::RecordError> err;
      if (r.error != nullptr) {
        err = *r.error;
      } else {
        err = engine::ParseRecord(r.record, ev);
      }
      if (!err) {
        err = engine::CheckNotInFuture(ev.time, now);
      }
      if (err) {
        summary.Reject(absl::StrCat(file, " record ", index), err->field,
                       absl::StrCat(err->field, ": ", err->reason));
        return;
      }
      ++summary.accepted;
      engine::Verdict v = engine.Evaluate(kTenant, ev, changes, tx->writer());
      if (!v.storage.ok() && storage_status.ok()) storage_status = v.storage;
      if (summary.accepted % kCommitEvery == 0) commit();
      if (!changes.empty()) {
        for (const engine::AlertChange& c : changes) {
          v1::Alert proto;
          engine::ToProto(c.alert, &proto);
          alerts.Add(proto);
        }
        changes.clear();
      }
      if ((summary.events & 0xffff) == 0) summary.MaybeProgress(stderr);
    });
    if (!st.ok()) {
      ++summary.unreadable_files;
      std::fprintf(stderr, "unreadable: %s\n", std::string(st.message()).c_str());
    }
  }
  if (storage_status.ok()) commit();
  if (!storage_status.ok()) {
    // Alerts judged on state that could not be read or kept are not printed: a
    // resource fault fails the run loudly instead of changing its results.
    std::fprintf(stderr,
                 "trailsentry scan: storage failed, stopped after %llu events (alerts not "
                 "printed; the data directory holds every batch committed before): %s\n",
                 static_cast<unsigned long long>(summary.events),
                 std::string(storage_status.message()).c_str());
    return kExitFailed;
  }
  alerts.PrintJsonLines(stdout);
  std::fflush(stdout);
  summary.Print(stderr, "scan", alerts);
  return summary.rejected > 0 || summary.unreadable_files > 0 ? kExitInputErrors : kExitOk;
}

}  // namespace trailsentry::cli
