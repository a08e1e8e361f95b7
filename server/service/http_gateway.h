// HttpGateway: the Detection API over HTTP/JSON (proto3 JSON mapping) for tools
// that speak only HTTP, plus health, readiness and Prometheus metrics.
//
//   POST   /v1/evaluate            EvaluateRequest -> EvaluateResponse
//   GET    /v1/identities/{key}    -> IdentityProfile       (key URL-encoded)
//   DELETE /v1/identities/{key}    ForgetIdentity
//   GET    /v1/alerts?since=&until=&rule=&identity=&page_size=&page_token=
//   POST   /v1/known-networks      AddKnownNetworkRequest -> AddKnownNetworkResponse
//   GET    /healthz  /readyz  /metrics   (no token needed; no tenant data)
//
// With `health_listen`, /healthz and /readyz also answer on a plain-HTTP port of
// their own (probes that cannot present a client certificate under mTLS).
//
// On account-sharded replicas (a ShardForwarder), what another replica owns goes
// there: its accounts' events, identity and trusted-network calls; alert lists
// are every replica's.
//
// The same bearer tokens as gRPC ("Authorization: Bearer <token>"), the same
// limits, and the same handlers behind both. Every error answers a JSON body
// {"code": "...", "message": "..."}; a known path asked with another method gets
// 405 with Allow.
//
//   auto http = HttpGateway::Start(options, deps).value();
//   http->port();
#ifndef TRAILSENTRY_SERVER_SERVICE_HTTP_GATEWAY_H_
#define TRAILSENTRY_SERVER_SERVICE_HTTP_GATEWAY_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "server/engine/config.h"
#include "server/engine/engine.h"
#include "server/service/authenticator.h"
#include "server/service/connection_reaper.h"
#include "server/service/evaluations.h"
#include "server/service/metrics.h"
#include "server/service/shard_forwarder.h"
#include "storage/database.h"

namespace httplib {
class Server;
}

namespace trailsentry::service {

class HttpGateway {
 public:
  struct Options {
    std::string listen;  // host:port; port 0 picks one
    std::string tls_cert, tls_key, tls_client_ca;
    // Plain HTTP serving only /healthz and /readyz, for probes that cannot
    // present a client certificate when mTLS is on; empty: off.
    std::string health_listen;
  };
  struct Dependencies {
    engine::Engine* engine = nullptr;
    storage::Database* db = nullptr;
    const Authenticator* auth = nullptr;
    Evaluations* evaluations = nullptr;
    // Account-sharded replicas: what belongs to another replica goes there
    // (null on a single node).
    const ShardForwarder* forwarder = nullptr;
    Metrics* metrics = nullptr;
    const engine::ServerConfig* config = nullptr;
    std::function<absl::Status()> ready;  // /readyz: 200 when OK, else 503 with the reason
    // More /metrics samples (alert delivery); may be empty.
    std::function<std::vector<std::pair<std::string, double>>()> gauges;
  };

  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HttpGateway>> Start(const Options& options,
                                                                          Dependencies deps);
  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  int port() const { return port_; }
  int health_port() const { return health_port_; }
  // Connections closed for taking longer than http_request_timeout.
  uint64_t reaped() const { return reaper_ ? reaper_->reaped() : 0; }
  void Stop();

 private:
  HttpGateway() = default;
  void Routes();
  static void HealthRoutes(httplib::Server& server, const Dependencies& deps);

  Dependencies deps_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<ConnectionReaper> reaper_;  // after http_: stops first
  std::unique_ptr<httplib::Server> health_;
  std::thread health_thread_;
  int health_port_ = 0;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_HTTP_GATEWAY_H_
