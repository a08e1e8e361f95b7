// DetectionService: the trailsentry.v1.Detection gRPC service (callback API).
//
// A thin adapter: checks arguments, hands the request to Evaluations, maps
// the status. No detection logic lives here.
//
//   DetectionService service(engine, db, auth, evaluations);
//   builder.RegisterService(&service);
#ifndef TRAILSENTRY_SERVER_SERVICE_DETECTION_SERVICE_H_
#define TRAILSENTRY_SERVER_SERVICE_DETECTION_SERVICE_H_

#include <atomic>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
#include "server/engine/config.h"
#include "server/engine/engine.h"
#include "server/engine/mutex.h"
#include "server/service/alert_watch.h"
#include "server/service/authenticator.h"
#include "server/service/evaluations.h"
#include "storage/database.h"
#include "trailsentry/v1/detection.grpc.pb.h"

namespace trailsentry::service {

// The caller's tenant from its bearer token (or "default" with auth off).
absl::StatusOr<std::string> TenantOfCall(const Authenticator& auth,
                                         const grpc::CallbackServerContext& context);

// Evaluate and EvaluateStream take raw messages, decoded by DecodeRequest, so a
// request gRPC cannot parse gets an error naming the field rather than gRPC's
// bare UNIMPLEMENTED.
using DetectionBase = v1::Detection::WithRawCallbackMethod_Evaluate<
    v1::Detection::WithRawCallbackMethod_EvaluateStream<
        v1::Detection::WithCallbackMethod_GetIdentity<v1::Detection::WithCallbackMethod_ListAlerts<
            v1::Detection::WithCallbackMethod_AddKnownNetwork<
                v1::Detection::WithCallbackMethod_ListKnownNetworks<
                    v1::Detection::WithCallbackMethod_RemoveKnownNetwork<
                        v1::Detection::WithCallbackMethod_ForgetIdentity<
                            v1::Detection::WithCallbackMethod_GetAlert<
                                v1::Detection::WithCallbackMethod_UpdateAlert<
                                    v1::Detection::WithCallbackMethod_WatchAlerts<
                                        v1::Detection::Service>>>>>>>>>>>;

class DetectionService final : public DetectionBase {
 public:
  // `db` may be null (nothing persisted; no alert history).
  DetectionService(engine::Engine& engine, storage::Database* db, const Authenticator& auth,
                   Evaluations& evaluations)
      : engine_(engine), db_(db), auth_(auth), evaluations_(evaluations) {}

  grpc::ServerUnaryReactor* Evaluate(grpc::CallbackServerContext* context,
                                     const grpc::ByteBuffer* request,
                                     grpc::ByteBuffer* response) override;

  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* EvaluateStream(
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
  grpc::ServerUnaryReactor* ListKnownNetworks(grpc::CallbackServerContext* context,
                                              const v1::ListKnownNetworksRequest* request,
                                              v1::ListKnownNetworksResponse* response) override;
  grpc::ServerUnaryReactor* RemoveKnownNetwork(grpc::CallbackServerContext* context,
                                               const v1::RemoveKnownNetworkRequest* request,
                                               v1::RemoveKnownNetworkResponse* response) override;
  grpc::ServerUnaryReactor* ForgetIdentity(grpc::CallbackServerContext* context,
                                           const v1::ForgetIdentityRequest* request,
                                           v1::ForgetIdentityResponse* response) override;

  grpc::ServerUnaryReactor* GetAlert(grpc::CallbackServerContext* context,
                                     const v1::GetAlertRequest* request,
                                     v1::Alert* response) override;
  grpc::ServerUnaryReactor* UpdateAlert(grpc::CallbackServerContext* context,
                                        const v1::UpdateAlertRequest* request,
                                        v1::Alert* response) override;
  grpc::ServerWriteReactor<v1::AlertChange>* WatchAlerts(
      grpc::CallbackServerContext* context, const v1::WatchAlertsRequest* request) override;

  // Before a shutdown: open WatchAlerts calls end with UNAVAILABLE; open
  // EvaluateStreams end with UNAVAILABLE (clients retry
  // it, never CANCELLED), at once when waiting for a request, else after the
  // response being made; new streams are refused the same way.
  void Drain();

 private:
  class StreamReactor;
  bool Register(StreamReactor* stream);
  void Unregister(StreamReactor* stream);
  bool draining() const { return draining_flag_.load(std::memory_order_acquire); }
  // Decodes, evaluates and encodes one request message.
  grpc::Status EvaluateOne(grpc::CallbackServerContext* context, std::string_view tenant,
                           const grpc::ByteBuffer& request, grpc::ByteBuffer* response);
  absl::StatusOr<std::string> TenantOf(grpc::CallbackServerContext* context) const {
    return TenantOfCall(auth_, *context);
  }

  engine::Engine& engine_;
  storage::Database* const db_;
  const Authenticator& auth_;
  Evaluations& evaluations_;

  engine::Mutex streams_mu_;
  absl::flat_hash_set<StreamReactor*> streams_ ABSL_GUARDED_BY(streams_mu_);
  bool draining_ ABSL_GUARDED_BY(streams_mu_) = false;
  std::atomic<bool> draining_flag_{false};
  AlertWatches watches_;
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_DETECTION_SERVICE_H_
