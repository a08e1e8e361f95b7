// Server: the trailsentryd gRPC server — Detection service, health checking and
// reflection — around one Engine.
//
//   auto server = Server::Start(config).value();   // listens on config.server.listen
//   int port = server->port();
//   server->Shutdown(absl::Seconds(10));           // drains in-flight calls
#ifndef TRAILSENTRY_SERVER_SERVICE_SERVER_H_
#define TRAILSENTRY_SERVER_SERVICE_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/delivery/alert_delivery.h"
#include "server/engine/config.h"
#include "server/engine/engine.h"
#include "server/service/admin_service.h"
#include "server/service/detection_service.h"
#include "server/service/evaluations.h"
#include "server/service/http_gateway.h"
#include "server/service/metrics.h"
#include "server/service/shard_forwarder.h"
#include "storage/database.h"

namespace trailsentry::service {

class Server {
 public:
  // Opens config.server.data_dir (RocksDB; in memory with `in_memory`), then binds
  // config.server.listen ("host:port"; port 0 picks a free port).
  struct Options {
    bool in_memory = false;         // the database in memory: nothing on disk
    bool sync = false;              // fsync every committed request
    std::string token_file;         // bearer tokens -> tenants; empty: authentication off
    std::string tls_cert, tls_key;  // PEM files: serve TLS
    std::string tls_client_ca;      // PEM: require client certificates it signed (mTLS)
    // Without tokens or mTLS, only a loopback address may be bound unless this is set.
    bool allow_insecure_remote = false;
    std::string http_listen;    // HTTP/JSON gateway, health and metrics; empty: off
    std::string backup_dir;     // where Admin.Backup writes; empty: backups off
    std::string health_listen;  // plain HTTP /healthz and /readyz only (probes under mTLS)
  };
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(const engine::Config& config,
                                                                     const Options& options);
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Server>> Start(const engine::Config& config) {
    return Start(config, Options{});
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  int port() const { return port_; }
  int http_port() const { return http_ ? http_->port() : 0; }
  int health_port() const { return http_ ? http_->health_port() : 0; }
  // HTTP connections closed for taking longer than http_request_timeout.
  uint64_t http_reaped() const { return http_ ? http_->reaped() : 0; }
  engine::Engine& engine() { return *engine_; }
  // Re-reads the token file (SIGHUP); the tokens in force stay on error.
  [[nodiscard]] absl::Status ReloadTokens() { return auth_->Reload(); }
  const Evaluations& evaluations() const { return *evaluations_; }
  storage::Database* database() { return db_.get(); }
  // OK when the server takes requests: started, not draining, and its storage
  // writing (after a failed write, not until the disk has room again).
  [[nodiscard]] absl::Status Ready();
  // Stops accepting calls, waits up to `grace` for in-flight ones, then cancels.
  void Shutdown(absl::Duration grace);
  void Wait();

 private:
  Server() = default;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<storage::Database> db_;  // declared first: the engine reads through it
  std::unique_ptr<engine::Engine> engine_;
  std::unique_ptr<delivery::AlertDelivery> delivery_;  // reads the database's change log
  Metrics metrics_;
  std::unique_ptr<Evaluations> evaluations_;
  std::atomic<bool> ready_{false};
  std::unique_ptr<DetectionService> service_;
  std::unique_ptr<AdminService> admin_;
  std::unique_ptr<ShardForwarder> forwarder_;  // HTTP on account-sharded replicas
  std::unique_ptr<HttpGateway> http_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_SERVER_H_
