#include "client/alert_collector.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <vector>

#include "server/engine/alert_ocsf.h"

namespace trailsentry::cli {

size_t AlertCollector::open_count() const {
  return static_cast<size_t>(std::count_if(alerts_.begin(), alerts_.end(), [](const auto& kv) {
    return kv.second.alert.superseded_by().empty();
  }));
}

void AlertCollector::PrintJsonLines(std::FILE* out, bool ocsf) const {
  std::vector<const Kept*> open;
  for (const auto& [id, kept] : alerts_) {
    if (kept.alert.superseded_by().empty()) open.push_back(&kept);
  }
  std::sort(open.begin(), open.end(), [](const Kept* a, const Kept* b) {
    const auto& sa = a->alert.window_start();
    const auto& sb = b->alert.window_start();
    if (sa.seconds() != sb.seconds()) return sa.seconds() < sb.seconds();
    if (sa.nanos() != sb.nanos()) return sa.nanos() < sb.nanos();
    return a->alert.alert_id() < b->alert.alert_id();
  });
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;  // lowerCamelCase: alertId, ruleId, ...
  options.always_print_primitive_fields = true;
  for (const Kept* kept : open) {
    if (ocsf) {
      v1::AlertChange change;
      change.set_kind(kept->opened ? v1::AlertChange::NEW : v1::AlertChange::UPDATED);
      *change.mutable_alert() = kept->alert;
      std::fprintf(out, "%s\n", engine::OcsfJson(change).c_str());
      continue;
    }
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(kept->alert, &json, options);
    // {"change":"NEW","alertId":...}: the alert's own JSON object, one key first.
    std::fprintf(out, "{\"change\":\"%s\",%s\n", kept->opened ? "NEW" : "UPDATED",
                 json.c_str() + 1);
  }
}

void RunSummary::Reject(const std::string& where, const std::string& field,
                        const std::string& reason) {
  ++rejected;
  ++rejected_by_field[field];
  if (details_printed_ < kMaxDetails) {
    std::fprintf(stderr, "rejected: %s: %s\n", where.c_str(), reason.c_str());
    if (++details_printed_ == kMaxDetails) {
      std::fprintf(stderr, "rejected: (further rejections are only counted)\n");
    }
  }
}

void RunSummary::MaybeProgress(std::FILE* out) {
  const absl::Time now = absl::Now();
  if (now - last_progress_ < absl::Seconds(5)) return;
  last_progress_ = now;
  const double secs = absl::ToDoubleSeconds(now - start);
  std::fprintf(out, "progress: %llu events from %llu files, %.0f events/s\n",
               static_cast<unsigned long long>(events), static_cast<unsigned long long>(files),
               secs > 0 ? static_cast<double>(events) / secs : 0.0);
}

void RunSummary::Print(std::FILE* out, const char* command, const AlertCollector& alerts) const {
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::fprintf(
      out,
      "trailsentry %s: %llu events read from %llu files in %.2fs (%.0f events/s): "
      "%llu accepted, %llu rejected",
      command, static_cast<unsigned long long>(events), static_cast<unsigned long long>(files),
      secs, secs > 0 ? static_cast<double>(events) / secs : 0.0,
      static_cast<unsigned long long>(accepted), static_cast<unsigned long long>(rejected));
  if (!rejected_by_field.empty()) {
    std::fprintf(out, " (");
    bool first = true;
    for (const auto& [field, n] : rejected_by_field) {
      std::fprintf(out, "%s%s: %llu", first ? "" : ", ", field.c_str(),
                   static_cast<unsigned long long>(n));
      first = false;
    }
    std::fprintf(out, ")");
  }
  if (unreadable_files > 0) {
    std::fprintf(out, ", %llu unreadable files", static_cast<unsigned long long>(unreadable_files));
  }
  std::fprintf(out, "; %zu alerts", alerts.open_count());
  if (alerts.superseded_count() > 0) {
    std::fprintf(out, " (%zu more merged into them)", alerts.superseded_count());
  }
  std::fprintf(out, "\n");
}

}  // namespace trailsentry::cli
