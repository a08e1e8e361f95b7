// DriftGate: keeps batches evaluated at the same time on several threads within
// a bound of each other in event time.
//
// The engine's results do not depend on arrival order within max_lateness (spec
// §2), and an account baseline entry a judgement uses is at least `settle` old
// (spec §3). Batches cut from a time-ordered input and evaluated in parallel
// therefore give exactly the one-thread results as long as no batch runs ahead
// of an earlier one by more than min(max_lateness, settle) minus the input's own
// disorder. The gate holds each event until every batch begun before its own has
// evaluated events up to `bound` behind it (or has finished), so threads never
// drift further apart than `bound`.
//
// Lanes are opened in batch order by one thread; Admit is called by the lane's
// worker before each event, and costs one relaxed store unless it must look at
// the other lanes (when the event is past the last limit it computed).
//
//   DriftGate gate(bound_ms, /*lanes=*/8);
//   int lane = gate.Open();            // in batch order; waits for a free lane
//   gate.Admit(lane, event.time);      // before each event of the batch
//   gate.Finish(lane);                 // no more events in this batch
//   gate.Release(lane);                // the lane may be reused
#ifndef TRAILSENTRY_SERVER_PIPELINE_DRIFT_GATE_H_
#define TRAILSENTRY_SERVER_PIPELINE_DRIFT_GATE_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "server/engine/event.h"
#include "server/engine/mutex.h"

namespace trailsentry::pipeline {

class DriftGate {
 public:
  DriftGate(int64_t bound_ms, int lanes);
  DriftGate(const DriftGate&) = delete;
  DriftGate& operator=(const DriftGate&) = delete;

  int lanes() const { return lanes_; }

  // Opens the next batch's lane, waiting while all are taken.
  int Open();
  // Returns once every batch opened before `lane`'s has evaluated an event at
  // `time - bound` or later, or finished.
  void Admit(int lane, engine::EventTime time);
  // The lane's batch evaluates nothing more: later batches need not wait for it.
  void Finish(int lane);
  // The lane is free again (after its batch committed).
  void Release(int lane);

  // How many times an event had to wait (for tests and benchmarks).
  uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }

 private:
  struct alignas(64) Lane {
    std::atomic<uint64_t> order{0};  // the batch's position; 0: free
    // Newest event time evaluated; INT64_MIN: none yet; INT64_MAX: finished.
    std::atomic<engine::EventTime> progress{INT64_MIN};
    engine::EventTime limit = INT64_MIN;  // the worker's: events up to this pass
  };
  // The newest time an event of `lane` may have now (INT64_MAX: no limit).
  engine::EventTime Limit(const Lane& lane) const;

  const int64_t bound_;
  const int lanes_;
  std::unique_ptr<Lane[]> lane_;
  engine::Mutex mu_;  // Open waits for Release
  uint64_t next_order_ ABSL_GUARDED_BY(mu_) = 1;
  std::atomic<uint64_t> waits_{0};
};

}  // namespace trailsentry::pipeline

#endif  // TRAILSENTRY_SERVER_PIPELINE_DRIFT_GATE_H_
