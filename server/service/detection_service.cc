#include "server/service/detection_service.h"

#include <spdlog/spdlog.h>

#include "server/service/request_evaluator.h"
#include "trailsentry/grpc_status.h"

namespace trailsentry::service {

grpc::Status DetectionService::EvaluateOne(grpc::CallbackServerContext* context,
                                           const v1::EvaluateRequest& request,
                                           v1::EvaluateResponse* response) {
  if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  RequestEvaluator evaluator(engine_, config_.max_events_per_request);
  absl::Status status = evaluator.Evaluate(kDefaultTenant, request, response);
  if (!status.ok()) return ToGrpcStatus(status);
  events_evaluated_.fetch_add(static_cast<uint64_t>(response->verdicts_size()),
                              std::memory_order_relaxed);
  for (const v1::AlertChange& change : response->alerts()) {
    spdlog::info("alert {} {} rule={} identity={} actions={}",
                 change.kind() == v1::AlertChange::NEW ? "opened" : "updated",
                 change.alert().alert_id(), change.alert().rule_id(), change.alert().identity(),
                 change.alert().distinct_action_count());
  }
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* DetectionService::Evaluate(grpc::CallbackServerContext* context,
                                                     const v1::EvaluateRequest* request,
                                                     v1::EvaluateResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(EvaluateOne(context, *request, response));
  return reactor;
}

// Reads a request, evaluates it, writes its response, and reads the next: one
// request in flight per stream, responses in request order.
class DetectionService::StreamReactor final
    : public grpc::ServerBidiReactor<v1::EvaluateRequest, v1::EvaluateResponse> {
 public:
  StreamReactor(DetectionService& service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);  // client half-closed
      return;
    }
    response_.Clear();
    grpc::Status status = service_.EvaluateOne(context_, request_, &response_);
    if (!status.ok()) {
      Finish(status);
      return;
    }
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream write failed"));
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  DetectionService& service_;
  grpc::CallbackServerContext* context_;
  v1::EvaluateRequest request_;
  v1::EvaluateResponse response_;
};

grpc::ServerBidiReactor<v1::EvaluateRequest, v1::EvaluateResponse>*
DetectionService::EvaluateStream(grpc::CallbackServerContext* context) {
  return new StreamReactor(*this, context);
}

}  // namespace trailsentry::service
