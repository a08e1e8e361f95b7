// RunSummary and AlertCollector: what the CLI reports after reading its inputs.
//
// The collector keeps every alert in its final state (later changes replace
// earlier ones) and prints them as JSON lines; the summary counts events,
// rejections by field, and throughput for stderr.
//
//   AlertCollector alerts;
//   alerts.Add(change.alert(), change.kind() == v1::AlertChange::NEW);
//   alerts.PrintJsonLines(stdout);
#ifndef TRAILSENTRY_CLIENT_ALERT_COLLECTOR_H_
#define TRAILSENTRY_CLIENT_ALERT_COLLECTOR_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "trailsentry/v1/alert.pb.h"

namespace trailsentry::cli {

class AlertCollector {
 public:
  // The alert's latest state; `opened`: this change opened it (NEW).
  void Add(const v1::Alert& alert, bool opened) {
    Kept& kept = alerts_[alert.alert_id()];
    kept.alert = alert;
    kept.opened |= opened;
  }
  // Alerts still open (not superseded), ordered by window start then id, one
  // JSON line each: "change" ("NEW": opened by this run, "UPDATED": it existed
  // before and this run changed it), then the alert's proto3 JSON fields, every
  // field present (false, 0 and empty included).
  // `ocsf`: each as an OCSF Detection Finding (activity Create for an alert the
  // run opened, Update for one it updated) instead of the alert's own JSON.
  void PrintJsonLines(std::FILE* out, bool ocsf = false) const;
  size_t open_count() const;
  size_t superseded_count() const { return alerts_.size() - open_count(); }

 private:
  struct Kept {
    v1::Alert alert;
    bool opened = false;
  };
  absl::flat_hash_map<std::string, Kept> alerts_;
};

struct RunSummary {
  uint64_t files = 0;
  uint64_t unreadable_files = 0;
  uint64_t events = 0;
  uint64_t accepted = 0;
  uint64_t rejected = 0;
  std::map<std::string, uint64_t> rejected_by_field;
  absl::Time start = absl::Now();

  // Prints at most this many rejection details, then only counts.
  static constexpr int kMaxDetails = 20;
  void Reject(const std::string& where, const std::string& field, const std::string& reason);
  void Print(std::FILE* out, const char* command, const AlertCollector& alerts) const;
  void MaybeProgress(std::FILE* out);

 private:
  int details_printed_ = 0;
  absl::Time last_progress_ = absl::Now();
};

}  // namespace trailsentry::cli

#endif  // TRAILSENTRY_CLIENT_ALERT_COLLECTOR_H_
