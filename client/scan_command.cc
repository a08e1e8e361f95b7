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

namespace trailsentry::cli {

int RunScan(const engine::Config& config, const std::vector<std::string>& paths) {
  absl::StatusOr<std::vector<std::string>> files = ExpandInputs(paths);
  if (!files.ok()) {
    std::fprintf(stderr, "trailsentry scan: %s\n", std::string(files.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<engine::Engine>> eng = engine::Engine::Create(config);
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
  for (const std::string& file : *files) {
    ++summary.files;
    absl::Status st = reader.ReadFile(file, [&](size_t index, const engine::RecordOrError& r) {
      ++summary.events;
      engine::Event ev;
      std::optional<engine::RecordError> err;
      if (r.error != nullptr) {
        err = *r.error;
      } else if ((err = engine::ParseRecord(r.record, ev))) {
      } else {
        err = engine::CheckNotInFuture(ev.time, now);
      }
      if (err) {
        summary.Reject(absl::StrCat(file, " record ", index), err->field,
                       absl::StrCat(err->field, ": ", err->reason));
        return;
      }
      ++summary.accepted;
      engine.Evaluate(kTenant, ev, changes);
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
  alerts.PrintJsonLines(stdout);
  std::fflush(stdout);
  summary.Print(stderr, "scan", alerts);
  return summary.rejected > 0 || summary.unreadable_files > 0 ? kExitInputErrors : kExitOk;
}

}  // namespace trailsentry::cli
