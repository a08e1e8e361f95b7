// VerdictMerge: the answers to the parts of a batch that was split (by account,
// or by the replica owning it), put back together as the answer to the whole:
// each verdict where its event was in the batch (its `index` that place), each
// alert once in its latest state (NEW if any part opened it), accepted and
// rejected counted. Parts must carry every verdict (VERDICT_DETAIL_ALL).
//
//   v1::EvaluateResponse whole;
//   VerdictMerge merge(&whole, events);        // `events` verdicts, all empty
//   merge.Add(part_indexes, part_response);    // part i's verdicts go to indexes[i]
//   merge.Fail(other_indexes, "replica b:50051: UNAVAILABLE: ...");
//   merge.Finish();
#ifndef TRAILSENTRY_CLIENT_VERDICT_MERGE_H_
#define TRAILSENTRY_CLIENT_VERDICT_MERGE_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry {

class VerdictMerge {
 public:
  // `into` keeps what it holds: its verdicts (at least `events`: empty ones are
  // padded on) and alerts; the parts fill its empty verdicts.
  VerdictMerge(v1::EvaluateResponse* into, int events);

  // The answer to the events at `indexes`, in order. INTERNAL when the part
  // answered another number of events.
  [[nodiscard]] absl::Status Add(const std::vector<int>& indexes, v1::EvaluateResponse part);
  // Those events were not evaluated: REJECTED, field "account",
  // "account: not evaluated: <why>", so no verdict is left empty.
  void Fail(const std::vector<int>& indexes, std::string_view why);
  // Counts accepted and rejected over every verdict.
  void Finish();

 private:
  v1::EvaluateResponse* into_;
  absl::flat_hash_map<std::string, int> alert_index_;  // alert id -> place in into_->alerts
};

}  // namespace trailsentry

#endif  // TRAILSENTRY_CLIENT_VERDICT_MERGE_H_
