// DetectionService: the trailsentry.v1.Detection gRPC service (callback API).
//
// A thin adapter: checks arguments, hands the request to RequestEvaluator, maps
// the status. No detection logic lives here.
//
//   DetectionService service(engine, config.server);
//   builder.RegisterService(&service);
#ifndef TRAILSENTRY_SERVER_SERVICE_DETECTION_SERVICE_H_
#define TRAILSENTRY_SERVER_SERVICE_DETECTION_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "server/engine/config.h"
#include "server/engine/engine.h"
#include "server/service/authenticator.h"
#include "server/service/metrics.h"
#include "storage/database.h"
#include "trailsentry/v1/detection.grpc.pb.h"

namespace trailsentry::service {

class DetectionService final : public v1::Detection::CallbackService {
 public:
  // `db` may be null (nothing persisted; no alert history).
  DetectionService(engine::Engine& engine, storage::Database* db, const Authenticator& auth,
                   Metrics& metrics, const engine::ServerConfig& config)
      : engine_(engine), db_(db), auth_(auth), metrics_(metrics), config_(config) {}

  grpc::ServerUnaryReactor* Evaluate(grpc::CallbackServerContext* context,
                                     const v1::EvaluateRequest* request,
                                     v1::EvaluateResponse* response) override;

  grpc::ServerBidiReactor<v1::EvaluateRequest, v1::EvaluateResponse>* EvaluateStream(
      grpc::CallbackServerContext* context) override;

  grpc::ServerUnaryReactor* GetIdentity(grpc::CallbackServerContext* context,
                                        const v1::GetIdentityRequest* request,
                                        v1::IdentityProfile* response) override;
  grpc::ServerUnaryReactor* ListAlerts(grpc::CallbackServerContext* context,
                                       const v1::ListAlertsRequest* request,
                                       v1::ListAlertsResponse* response) override;
  grpc::ServerUnaryReactor* AddKnownNetwork(grpc::CallbackServerContext* context,
                                            const v1::AddKnownNetworkRequest* request,
                                            v1::AddKnownNetworkResponse* response) override;
  grpc::ServerUnaryReactor* ForgetIdentity(grpc::CallbackServerContext* context,
                                           const v1::ForgetIdentityRequest* request,
                                           v1::ForgetIdentityResponse* response) override;

  uint64_t events_evaluated() const { return events_evaluated_.load(std::memory_order_relaxed); }
  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  class StreamReactor;
  grpc::Status EvaluateOne(grpc::CallbackServerContext* context, std::string_view tenant,
                           const v1::EvaluateRequest& request, v1::EvaluateResponse* response);
  // The caller's tenant from its bearer token (or "default" with auth off).
  absl::StatusOr<std::string> TenantOf(grpc::CallbackServerContext* context) const;

  engine::Engine& engine_;
  storage::Database* const db_;
  const Authenticator& auth_;
  Metrics& metrics_;
  const engine::ServerConfig config_;
  std::atomic<uint64_t> events_evaluated_{0};
  std::atomic<int> in_flight_{0};
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_DETECTION_SERVICE_H_
