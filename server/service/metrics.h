// Metrics: the counters, gauges and latency histograms trailsentryd exposes at
// GET /metrics in the Prometheus text format. Lock-free to record.
//
//   metrics.RecordRequest("grpc", "Evaluate", seconds, ok);
//   metrics.RecordEvaluation(response, flags);
//   std::string text = metrics.Render(extra_gauges);
#ifndef TRAILSENTRY_SERVER_SERVICE_METRICS_H_
#define TRAILSENTRY_SERVER_SERVICE_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "server/engine/mutex.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry::service {

// Events evaluated, by verdict flag (indexed by v1::VerdictFlag value).
using VerdictFlagCounts = std::array<uint64_t, v1::VerdictFlag_ARRAYSIZE>;

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1,    2.5};

  // One finished request of `api` ("grpc" or "http") and `method`.
  void RecordRequest(std::string_view api, std::string_view method, double seconds, bool ok);
  // One evaluated request: its counts and alerts, and the flags of its
  // verdicts (counted as evaluated: a response may carry only rejections).
  void RecordEvaluation(const v1::EvaluateResponse& response, const VerdictFlagCounts& flags);
  void AddInFlight(int delta) { in_flight_.fetch_add(delta, std::memory_order_relaxed); }

  // The exposition text; `gauges` are appended as "name value" lines with HELP/TYPE.
  std::string Render(const std::vector<std::pair<std::string, double>>& gauges) const;

 private:
  struct Histogram {
    std::array<std::atomic<uint64_t>, kBuckets.size()> buckets{};
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> sum_micros{0};
  };
  Histogram& HistogramFor(std::string_view api, std::string_view method);

  std::atomic<uint64_t> accepted_{0}, rejected_{0};
  std::array<std::atomic<uint64_t>, v1::VerdictFlag_ARRAYSIZE> flags_{};
  std::atomic<uint64_t> burst_new_{0}, burst_updated_{0}, unusual_new_{0}, unusual_updated_{0};
  std::atomic<int> in_flight_{0};
  mutable engine::Mutex mu_;  // guards the map's shape, not the histograms
  absl::flat_hash_map<std::string, std::unique_ptr<Histogram>> histograms_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_METRICS_H_
