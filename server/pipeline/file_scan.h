// FileScan: CloudTrail files through the evaluation pipeline on every core, the
// engine of `trailsentry scan` (backfill, hunting, baseline bootstrap).
//
// One thread splits the files, in order, into units of whole records (RecordReader::
// SplitFile); any of `threads` workers reads a unit into its own EvaluationBatch,
// which it commits every 100,000 events (so an identity's writes coalesce as in
// one long batch), and units are reported in file order. A DriftGate keeps the
// workers within min(max_lateness, settle) / 2 of each other in event time, so
// the alerts are those of one thread for inputs whose disorder is within the
// other half (spec §2; alert ids record arrival order and may differ). Memory is
// bounded: at most 2 × threads + 1 units exist at a time.
//
//   FileScan scan(engine, db, {.threads = 0});
//   absl::StatusOr<ScanTotals> totals = scan.Run(files, observer);
#ifndef TRAILSENTRY_SERVER_PIPELINE_FILE_SCAN_H_
#define TRAILSENTRY_SERVER_PIPELINE_FILE_SCAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "server/engine/alert.h"
#include "server/engine/engine.h"
#include "server/engine/record_parser.h"
#include "storage/database.h"

namespace trailsentry::pipeline {

// What a scan reports while it runs, one call at a time, in input order.
class ScanObserver {
 public:
  virtual ~ScanObserver() = default;
  // Record `index` (from 0, in the file) was rejected.
  virtual void Rejected(const std::string& file, size_t index,
                        const engine::RecordError& error) = 0;
  // The file (or what is left of it after the records already reported) could
  // not be read.
  virtual void Unreadable(const std::string& file, const absl::Status& status) = 0;
  // Called after each committed unit.
  virtual void Progress(uint64_t /*events*/) {}
};

struct ScanOptions {
  int threads = 0;  // 0: every core
  size_t unit_bytes = size_t{4} << 20;
  std::string tenant = "default";
  engine::EventTime now = 0;  // events later than this are rejected (0: the clock's now)
};

struct ScanTotals {
  uint64_t files = 0;
  uint64_t unreadable_files = 0;
  uint64_t events = 0;    // records read
  uint64_t accepted = 0;  // records evaluated
  uint64_t rejected = 0;
  uint64_t gate_waits = 0;  // events held back by the drift gate
  int threads = 0;
  // Every alert opened or changed, in its final state (superseded ones too);
  // is_new: opened by this scan (else it existed in the data directory before).
  std::vector<engine::AlertChange> alerts;
};

class FileScan {
 public:
  FileScan(engine::Engine& engine, storage::Database* db, ScanOptions options);

  // Scans the files in order. UNAVAILABLE when state could not be read or
  // written, RESOURCE_EXHAUSTED when memory or threads ran out: the scan stops,
  // every unit committed before stands, and the totals are lost (alerts judged
  // on incomplete state are never reported).
  [[nodiscard]] absl::StatusOr<ScanTotals> Run(const std::vector<std::string>& files,
                                               ScanObserver& observer);

 private:
  engine::Engine& engine_;
  storage::Database* const db_;
  const ScanOptions options_;
};

}  // namespace trailsentry::pipeline

#endif  // TRAILSENTRY_SERVER_PIPELINE_FILE_SCAN_H_
