#include "server/service/detection_service.h"

#include <google/protobuf/arena.h>
#include <spdlog/spdlog.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "server/engine/printable.h"
#include "server/service/lookups.h"
#include "server/service/request_decoder.h"
#include "trailsentry/grpc_status.h"

namespace trailsentry::service {

absl::StatusOr<std::string> TenantOfCall(const Authenticator& auth,
                                         const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  std::string_view value;
  if (it != metadata.end()) value = std::string_view(it->second.data(), it->second.size());
  return auth.TenantFor(value);
}

grpc::Status DetectionService::EvaluateOne(grpc::CallbackServerContext* context,
                                           std::string_view tenant, const grpc::ByteBuffer& request,
                                           grpc::ByteBuffer* response) {
  if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  if (context->deadline() < std::chrono::system_clock::now()) {
    return grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "deadline passed before evaluation");
  }
  // The request's events and the response's verdicts live in one arena: a few
  // blocks per request instead of allocations per event.
  google::protobuf::ArenaOptions arena_options;
  arena_options.start_block_size = size_t{64} << 10;
  arena_options.max_block_size = size_t{1} << 20;
  google::protobuf::Arena arena(arena_options);
  auto* decoded = google::protobuf::Arena::CreateMessage<v1::EvaluateRequest>(&arena);
  if (absl::Status s = DecodeRequest(request, *decoded); !s.ok()) return ToGrpcStatus(s);
  auto* evaluated = google::protobuf::Arena::CreateMessage<v1::EvaluateResponse>(&arena);
  if (absl::Status s = evaluations_.Evaluate("grpc", tenant, *decoded, evaluated); !s.ok()) {
    return ToGrpcStatus(s);
  }
  return ToGrpcStatus(EncodeResponse(*evaluated, *response));
}

grpc::ServerUnaryReactor* DetectionService::Evaluate(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<std::string> tenant = TenantOf(context);
  reactor->Finish(tenant.ok() ? EvaluateOne(context, *tenant, *request, response)
                              : ToGrpcStatus(tenant.status()));
  return reactor;
}

// Reads a request, evaluates it, writes its response, and reads the next: one
// request in flight per stream, responses in request order. The caller's token
// is checked again for every request: a token revoked (SIGHUP) while its stream
// is open ends the stream with UNAUTHENTICATED at the next request. When the
// server drains (SIGTERM), the stream ends with UNAVAILABLE at once if it waits
// for a request, else right after the response being made: every request
// answered was evaluated, and a client retries the rest elsewhere or later.
class DetectionService::StreamReactor final
    : public grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  StreamReactor(DetectionService& service, grpc::CallbackServerContext* context)
      : service_(service), context_(context) {
    absl::StatusOr<std::string> tenant = service_.TenantOf(context);
    const absl::Status tenant_status = tenant.status();
    if (tenant.ok()) tenant_ = *std::move(tenant);
    // Registered before mu_ is taken (Drain takes the service's lock, then ours).
    registered_ = tenant_status.ok() && service_.Register(this);
    engine::MutexLock lock(&mu_);
    if (finished_) return;  // a drain ended it already
    if (!tenant_status.ok()) {
      FinishLocked(ToGrpcStatus(tenant_status));
    } else if (!registered_) {
      FinishLocked(Draining());
    } else {
      StartRead(&request_);
    }
  }

  void OnReadDone(bool ok) override {
    {
      engine::MutexLock lock(&mu_);
      if (finished_) return;  // ended by Drain while waiting for this read
      if (!ok) {
        FinishLocked(grpc::Status::OK);  // client half-closed
        return;
      }
      if (service_.draining()) {
        FinishLocked(Draining());
        return;
      }
      busy_ = true;
    }
    absl::StatusOr<std::string> tenant = service_.TenantOf(context_);
    grpc::Status status;
    if (!tenant.ok() || *tenant != tenant_) {
      status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                            "the stream's token is no longer valid (revoked or reassigned)");
    } else {
      response_.Clear();
      status = service_.EvaluateOne(context_, tenant_, request_, &response_);
    }
    engine::MutexLock lock(&mu_);
    if (!status.ok()) {
      FinishLocked(status);
      return;
    }
    StartWrite(&response_);
  }

  void OnWriteDone(bool ok) override {
    engine::MutexLock lock(&mu_);
    busy_ = false;
    if (finished_) return;
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream write failed"));
      return;
    }
    if (service_.draining()) {
      FinishLocked(Draining());
      return;
    }
    request_.Clear();
    StartRead(&request_);
  }

  // True when the stream waits for a request: the caller must then Finish it
  // with Draining(), outside any lock (a reaction may run inline in Finish when
  // called from a thread of ours). A busy stream ends after its response
  // (OnWriteDone sees the drain).
  bool ClaimIdle() {
    engine::MutexLock lock(&mu_);
    if (finished_ || busy_) return false;
    finished_ = true;
    return true;
  }
  void FinishDrained() { Finish(Draining()); }

  void OnDone() override {
    if (registered_) service_.Unregister(this);
    delete this;
  }

 private:
  static grpc::Status Draining() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                        "the server is shutting down; send the remaining requests again (to "
                        "another replica, or after the restart)");
  }
  // Within a reaction gRPC defers any reaction a call triggers until this one
  // returns, so reactions may hold mu_ while calling Finish, StartRead, StartWrite.
  void FinishLocked(grpc::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;
    Finish(std::move(status));
  }

  DetectionService& service_;
  grpc::CallbackServerContext* context_;
  std::string tenant_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  bool registered_ = false;
  engine::Mutex mu_;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // evaluating or writing a response
};

bool DetectionService::Register(StreamReactor* stream) {
  engine::MutexLock lock(&streams_mu_);
  if (draining_) return false;
  streams_.insert(stream);
  return true;
}

void DetectionService::Unregister(StreamReactor* stream) {
  engine::MutexLock lock(&streams_mu_);
  streams_.erase(stream);
}

void DetectionService::Drain() {
  std::vector<StreamReactor*> idle;  // each stays alive until finished below
  {
    engine::MutexLock lock(&streams_mu_);
    draining_ = true;
    draining_flag_.store(true, std::memory_order_release);
    for (StreamReactor* stream : streams_) {
      if (stream->ClaimIdle()) idle.push_back(stream);
    }
  }
  for (StreamReactor* stream : idle) stream->FinishDrained();
  watches_.Drain();
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* DetectionService::EvaluateStream(
    grpc::CallbackServerContext* context) {
  return new StreamReactor(*this, context);
}

namespace {

// Finishes a unary call with a lookup's result.
template <typename Response>
grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context,
                                absl::StatusOr<Response> result, Response* response) {
  // Lookups are short; an expired deadline still gets DEADLINE_EXCEEDED.
  if (result.ok() && context->deadline() < std::chrono::system_clock::now()) {
    result = absl::DeadlineExceededError("deadline passed");
  }
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
  absl::StatusOr<std::string> tenant = TenantOf(context);
  if (!tenant.ok()) return Reply<v1::IdentityProfile>(context, tenant.status(), response);
  return Reply(context, service::GetIdentity(engine_, db_, *tenant, *request), response);
}

grpc::ServerUnaryReactor* DetectionService::ListAlerts(grpc::CallbackServerContext* context,
                                                       const v1::ListAlertsRequest* request,
                                                       v1::ListAlertsResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(context);
  if (!tenant.ok()) return Reply<v1::ListAlertsResponse>(context, tenant.status(), response);
  return Reply(context, service::ListAlerts(db_, *tenant, *request), response);
}

grpc::ServerUnaryReactor* DetectionService::GetAlert(grpc::CallbackServerContext* context,
                                                     const v1::GetAlertRequest* request,
                                                     v1::Alert* response) {
  absl::StatusOr<std::string> tenant = TenantOf(context);
  if (!tenant.ok()) return Reply<v1::Alert>(context, tenant.status(), response);
  return Reply(context, service::GetAlert(db_, *tenant, *request), response);
}

grpc::ServerUnaryReactor* DetectionService::UpdateAlert(grpc::CallbackServerContext* context,
                                                        const v1::UpdateAlertRequest* request,
                                                        v1::Alert* response) {
  absl::StatusOr<std::string> tenant = TenantOf(context);
  if (!tenant.ok()) return Reply<v1::Alert>(context, tenant.status(), response);
  absl::StatusOr<v1::Alert> r = service::UpdateAlert(engine_, db_, *tenant, *request);
  if (r.ok()) {
    spdlog::info("tenant {}: alert {} triaged", engine::Printable(*tenant),
                 engine::Printable(request->alert_id()));
  }
  return Reply(context, std::move(r), response);
}

grpc::ServerWriteReactor<v1::AlertChange>* DetectionService::WatchAlerts(
    grpc::CallbackServerContext* context, const v1::WatchAlertsRequest* request) {
  absl::StatusOr<std::string> tenant = TenantOf(context);
  return AlertWatch::Start(tenant.ok() ? db_ : nullptr, tenant.ok() ? *tenant : "", *request,
                           watches_, tenant.status());
}

grpc::ServerUnaryReactor* DetectionService::AddKnownNetwork(
    grpc::CallbackServerContext* context, const v1::AddKnownNetworkRequest* request,
    v1::AddKnownNetworkResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(context);
  if (!tenant.ok()) return Reply<v1::AddKnownNetworkResponse>(context, tenant.status(), response);
  absl::StatusOr<v1::AddKnownNetworkResponse> r =
      service::AddKnownNetwork(engine_, db_, *tenant, *request);
  if (r.ok()) {
    spdlog::info("tenant {}: trusted network {} for {}", engine::Printable(*tenant),
                 engine::Printable(r->network()),
                 engine::Printable(request->identity().empty() ? request->account_id()
                                                               : request->identity()));
  }
  return Reply(context, std::move(r), response);
}

grpc::ServerUnaryReactor* DetectionService::ListKnownNetworks(
    grpc::CallbackServerContext* context, const v1::ListKnownNetworksRequest* request,
    v1::ListKnownNetworksResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(context);
  if (!tenant.ok()) return Reply<v1::ListKnownNetworksResponse>(context, tenant.status(), response);
  return Reply(context, service::ListKnownNetworks(engine_, *tenant, *request), response);
}

grpc::ServerUnaryReactor* DetectionService::RemoveKnownNetwork(
    grpc::CallbackServerContext* context, const v1::RemoveKnownNetworkRequest* request,
    v1::RemoveKnownNetworkResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(context);
  if (!tenant.ok()) {
    return Reply<v1::RemoveKnownNetworkResponse>(context, tenant.status(), response);
  }
  absl::StatusOr<v1::RemoveKnownNetworkResponse> r =
      service::RemoveKnownNetwork(engine_, db_, *tenant, *request);
  if (r.ok()) {
    spdlog::info("tenant {}: no longer trusts network {} for {}", engine::Printable(*tenant),
                 engine::Printable(r->network()),
                 engine::Printable(request->identity().empty() ? request->account_id()
                                                               : request->identity()));
  }
  return Reply(context, std::move(r), response);
}

grpc::ServerUnaryReactor* DetectionService::ForgetIdentity(grpc::CallbackServerContext* context,
                                                           const v1::ForgetIdentityRequest* request,
                                                           v1::ForgetIdentityResponse* response) {
  absl::StatusOr<std::string> tenant = TenantOf(context);
  if (!tenant.ok()) return Reply<v1::ForgetIdentityResponse>(context, tenant.status(), response);
  absl::StatusOr<v1::ForgetIdentityResponse> r =
      service::ForgetIdentity(engine_, db_, *tenant, *request);
  if (r.ok()) {
    spdlog::info("tenant {}: forgot identity {}", engine::Printable(*tenant),
                 engine::Printable(request->identity()));
  }
  return Reply(context, std::move(r), response);
}

}  // namespace trailsentry::service
