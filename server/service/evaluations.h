// Evaluations: every EvaluateRequest the server takes, whichever transport
// brought it (gRPC unary, gRPC stream, HTTP): admission (max_in_flight), the
// in-flight gauge and latency metrics, the evaluation (RequestEvaluator), and one
// log line per alert opened or updated. One gate, so every transport has the
// same limits.
//
//   Evaluations evaluations(engine, db, metrics, config.server);
//   absl::Status s = evaluations.Evaluate("http", tenant, request, &response);
#ifndef TRAILSENTRY_SERVER_SERVICE_EVALUATIONS_H_
#define TRAILSENTRY_SERVER_SERVICE_EVALUATIONS_H_

#include <atomic>
#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/engine/config.h"
#include "server/engine/engine.h"
#include "server/service/metrics.h"
#include "server/service/request_evaluator.h"
#include "storage/database.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry::service {

class Evaluations {
 public:
  // `db` may be null (nothing persisted).
  Evaluations(engine::Engine& engine, storage::Database* db, Metrics& metrics,
              const engine::ServerConfig& config)
      : engine_(engine), db_(db), metrics_(metrics), config_(config) {}

  // RESOURCE_EXHAUSTED ("retry later") while max_in_flight requests are being
  // evaluated: turned away, not queued. Otherwise RequestEvaluator::Evaluate's
  // answer. `api` ("grpc", "http") labels the metrics. `forwarded`: see
  // RequestEvaluator::Evaluate.
  [[nodiscard]] absl::Status Evaluate(std::string_view api, std::string_view tenant,
                                      const v1::EvaluateRequest& request,
                                      v1::EvaluateResponse* response,
                                      std::vector<ForwardedEvent>* forwarded = nullptr);

  uint64_t events_evaluated() const { return events_evaluated_.load(std::memory_order_relaxed); }
  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  engine::Engine& engine_;
  storage::Database* const db_;
  Metrics& metrics_;
  const engine::ServerConfig config_;
  std::atomic<uint64_t> events_evaluated_{0};
  std::atomic<int> in_flight_{0};
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_EVALUATIONS_H_
