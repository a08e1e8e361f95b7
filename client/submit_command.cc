// `trailsentry submit`: the same files, evaluated by a server.
#include <simdjson.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "client/alert_collector.h"
#include "client/client.h"
#include "client/commands.h"
#include "client/input_files.h"
#include "server/engine/record_reader.h"

namespace trailsentry::cli {

int RunSubmit(const SubmitOptions& options, const std::vector<std::string>& paths) {
  if (options.batch < 1) {
    std::fprintf(stderr, "trailsentry submit: --batch must be at least 1\n");
    return kExitUsage;
  }
  absl::StatusOr<std::vector<std::string>> files = ExpandInputs(paths);
  if (!files.ok()) {
    std::fprintf(stderr, "trailsentry submit: %s\n", std::string(files.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options.connection);
  if (!client.ok()) {
    std::fprintf(stderr, "trailsentry submit: %s\n",
                 std::string(client.status().message()).c_str());
    return kExitUsage;
  }

  RunSummary summary;
  AlertCollector alerts;
  engine::RecordReader reader;
  std::vector<std::string> records;  // this file's records, minified
  std::vector<std::string> where;    // "file record N" for each
  for (const std::string& file : *files) {
    ++summary.files;
    records.clear();
    where.clear();
    absl::Status st = reader.ReadFile(file, [&](size_t index, const engine::RecordOrError& r) {
      ++summary.events;
      if (r.error != nullptr) {
        summary.Reject(absl::StrCat(file, " record ", index), r.error->field,
                       absl::StrCat(r.error->field, ": ", r.error->reason));
        return;
      }
      records.push_back(simdjson::minify(r.record));
      where.push_back(absl::StrCat(file, " record ", index));
    });
    if (!st.ok()) {
      ++summary.unreadable_files;
      std::fprintf(stderr, "unreadable: %s\n", std::string(st.message()).c_str());
      continue;
    }
    size_t offset = 0;
    absl::Status sent = (*client)->EvaluateRecords(
        records, options.batch, [&](const v1::EvaluateResponse& response) {
          for (int i = 0; i < response.verdicts_size(); ++i) {
            const v1::Verdict& v = response.verdicts(i);
            if (v.status() == v1::Verdict::REJECTED) {
              summary.Reject(where[offset + static_cast<size_t>(i)], v.reject_field(),
                             v.reject_reason());
            } else {
              ++summary.accepted;
            }
          }
          offset += static_cast<size_t>(response.verdicts_size());
          for (const v1::AlertChange& change : response.alerts()) alerts.Add(change.alert());
          summary.MaybeProgress(stderr);
        });
    if (!sent.ok()) {
      std::fprintf(stderr, "trailsentry submit: %s\n", std::string(sent.message()).c_str());
      alerts.PrintJsonLines(stdout);
      summary.Print(stderr, "submit", alerts);
      return kExitInputErrors;
    }
  }
  alerts.PrintJsonLines(stdout);
  std::fflush(stdout);
  summary.Print(stderr, "submit", alerts);
  return summary.rejected > 0 || summary.unreadable_files > 0 ? kExitInputErrors : kExitOk;
}

}  // namespace trailsentry::cli
