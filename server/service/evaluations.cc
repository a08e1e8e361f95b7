#include "server/service/evaluations.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "server/engine/printable.h"

namespace trailsentry::service {

absl::Status Evaluations::Evaluate(std::string_view api, std::string_view tenant,
                                   const v1::EvaluateRequest& request,
                                   v1::EvaluateResponse* response,
                                   std::vector<ForwardedEvent>* forwarded) {
  // Counted down however the evaluation ends (an exception included), so the
  // gauge and the gate never drift.
  struct InFlight {
    Evaluations& e;
    ~InFlight() {
      e.in_flight_.fetch_sub(1, std::memory_order_relaxed);
      e.metrics_.AddInFlight(-1);
    }
  } in_flight{*this};
  metrics_.AddInFlight(1);
  if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= config_.max_in_flight) {
    return absl::ResourceExhaustedError(
        absl::StrCat("max_in_flight (", config_.max_in_flight,
                     ") requests are already being evaluated; retry later"));
  }
  const auto start = std::chrono::steady_clock::now();
  RequestEvaluator evaluator(engine_, db_, config_);
  absl::Status status = evaluator.Evaluate(tenant, request, response, forwarded);
  metrics_.RecordRequest(
      api, "Evaluate",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), status.ok());
  if (!status.ok()) return status;
  metrics_.RecordEvaluation(*response, evaluator.flag_counts());
  // Events forwarded to another replica are counted there.
  events_evaluated_.fetch_add(
      static_cast<uint64_t>(response->accepted()) + static_cast<uint64_t>(response->rejected()),
      std::memory_order_relaxed);
  for (const v1::AlertChange& change : response->alerts()) {
    spdlog::info("tenant {}: alert {} {} rule={} identity={} actions={}", engine::Printable(tenant),
                 change.kind() == v1::AlertChange::NEW ? "opened" : "updated",
                 change.alert().alert_id(), change.alert().rule_id(),
                 engine::Printable(change.alert().identity()),
                 change.alert().distinct_action_count());
  }
  return absl::OkStatus();
}

}  // namespace trailsentry::service
