#include "server/service/detection_service.h"

#include <spdlog/spdlog.h>

#include "server/service/lookups.h"
#include "server/service/request_evaluator.h"
#include "trailsentry/grpc_status.h"

namespace trailsentry::service {

grpc::Status DetectionService::EvaluateOne(grpc::CallbackServerContext* context,
                                           const v1::EvaluateRequest& request,
                                           v1::EvaluateResponse* response) {
  if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  RequestEvaluator evaluator(engine_, db_, config_.max_events_per_request);
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

namespace {

// Finishes a unary call with a lookup's result.
template <typename Response>
grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context,
                                absl::StatusOr<Response> result, Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (result.ok()) {
    *response = *std::move(result);
    reactor->Finish(grpc::Status::OK);
  } else {
    reactor->Finish(ToGrpcStatus(result.status()));
  }
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* DetectionService::GetIdentity(grpc::CallbackServerContext* context,
                                                        const v1::GetIdentityRequest* request,
                                                        v1::IdentityProfile* response) {
  return Reply(context, service::GetIdentity(engine_, db_, kDefaultTenant, *request), response);
}

grpc::ServerUnaryReactor* DetectionService::ListAlerts(grpc::CallbackServerContext* context,
                                                       const v1::ListAlertsRequest* request,
                                                       v1::ListAlertsResponse* response) {
  return Reply(context, service::ListAlerts(db_, kDefaultTenant, *request), response);
}

grpc::ServerUnaryReactor* DetectionService::AddKnownNetwork(
    grpc::CallbackServerContext* context, const v1::AddKnownNetworkRequest* request,
    v1::AddKnownNetworkResponse* response) {
  absl::StatusOr<v1::AddKnownNetworkResponse> r =
      service::AddKnownNetwork(engine_, db_, kDefaultTenant, *request);
  if (r.ok()) spdlog::info("trusted network {} for {}", r->network(), request->identity().empty() ? request->account_id() : request->identity());
  return Reply(context, std::move(r), response);
}

grpc::ServerUnaryReactor* DetectionService::ForgetIdentity(
    grpc::CallbackServerContext* context, const v1::ForgetIdentityRequest* request,
    v1::ForgetIdentityResponse* response) {
  absl::StatusOr<v1::ForgetIdentityResponse> r =
      service::ForgetIdentity(engine_, db_, kDefaultTenant, *request);
  if (r.ok()) spdlog::info("forgot identity {}", request->identity());
  return Reply(context, std::move(r), response);
}

}  // namespace trailsentry::service
