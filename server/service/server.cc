#include "server/service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace trailsentry::service {

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(what, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "127.0.0.1:50051", "localhost:0", "[::1]:50051" bind loopback only.
bool IsLoopback(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon == std::string::npos ? listen.size() : colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(
    const Server::Options& options) {
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together");
  }
  if (options.tls_cert.empty()) {
    if (!options.tls_client_ca.empty()) {
      return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key");
    }
    return grpc::InsecureServerCredentials();
  }
  grpc::SslServerCredentialsOptions ssl(
      options.tls_client_ca.empty() ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                    : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  absl::StatusOr<std::string> cert = ReadFile(options.tls_cert, "--tls_cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(options.tls_key, "--tls_key");
  if (!key.ok()) return key.status();
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  if (!options.tls_client_ca.empty()) {
    absl::StatusOr<std::string> ca = ReadFile(options.tls_client_ca, "--tls_client_ca");
    if (!ca.ok()) return ca.status();
    ssl.pem_root_certs = *ca;
  }
  return grpc::SslServerCredentials(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const engine::Config& config,
                                                      const Options& options) {
  std::unique_ptr<Server> server(new Server());
  absl::StatusOr<std::unique_ptr<Authenticator>> auth = Authenticator::Create(options.token_file);
  if (!auth.ok()) return auth.status();
  server->auth_ = *std::move(auth);
  const bool authenticated = server->auth_->enabled() || !options.tls_client_ca.empty();
  for (const std::string& listen : {config.server.listen, options.http_listen}) {
    if (!listen.empty() && !authenticated && !IsLoopback(listen) &&
        !options.allow_insecure_remote) {
      return absl::FailedPreconditionError(absl::StrCat(
          "refusing to listen on ", listen,
          " without authentication: give --token_file (or --tls_client_ca), listen on a loopback "
          "address, or pass --allow_insecure_remote"));
    }
  }
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials = Credentials(options);
  if (!credentials.ok()) return credentials.status();
  // In memory is the same database on RocksDB's in-memory Env: the same results.
  absl::StatusOr<std::unique_ptr<storage::Database>> db =
      storage::Database::Open({.path = options.in_memory ? "" : config.server.data_dir,
                               .config = &config,
                               .sync = options.sync,
                               .write_behind = true});
  if (!db.ok()) return db.status();
  server->db_ = *std::move(db);
  absl::StatusOr<std::unique_ptr<engine::Engine>> engine =
      engine::Engine::Create(config, server->db_.get());
  if (!engine.ok()) return engine.status();
  server->engine_ = *std::move(engine);
  absl::StatusOr<std::unique_ptr<delivery::AlertDelivery>> delivery =
      delivery::AlertDelivery::Start(server->db_.get(), config.server.alerts);
  if (!delivery.ok()) return delivery.status();
  server->delivery_ = *std::move(delivery);
  server->evaluations_ = std::make_unique<Evaluations>(*server->engine_, server->db_.get(),
                                                       server->metrics_, config.server);
  server->service_ = std::make_unique<DetectionService>(*server->engine_, server->db_.get(),
                                                        *server->auth_, *server->evaluations_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second trailsentryd on the same port
  // would start and take half the traffic into other state. Refuse instead.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.AddListeningPort(config.server.listen, *credentials, &server->port_);
  builder.SetMaxReceiveMessageSize(config.server.max_message_bytes);
  builder.SetMaxSendMessageSize(config.server.max_message_bytes);
  builder.RegisterService(server->service_.get());
  server->admin_ =
      std::make_unique<AdminService>(server->db_.get(), *server->auth_, options.backup_dir);
  builder.RegisterService(server->admin_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.server.listen, " (address in use or invalid?)"));
  }
  if (!options.http_listen.empty() && !config.server.shard.replicas.empty()) {
    absl::StatusOr<std::unique_ptr<ShardForwarder>> forwarder = ShardForwarder::Create(
        config.server.shard, {.tls_ca = options.tls_client_ca,
                              .tls_cert = options.tls_cert,
                              .tls_key = options.tls_key,
                              .max_message_bytes = config.server.max_message_bytes,
                              .timeout = config.server.http_request_timeout});
    if (!forwarder.ok()) return forwarder.status();
    server->forwarder_ = *std::move(forwarder);
  }
  if (!options.http_listen.empty()) {
    Server* raw = server.get();
    absl::StatusOr<std::unique_ptr<HttpGateway>> http =
        HttpGateway::Start({.listen = options.http_listen,
                            .tls_cert = options.tls_cert,
                            .tls_key = options.tls_key,
                            .tls_client_ca = options.tls_client_ca,
                            .health_listen = options.health_listen},
                           {.engine = server->engine_.get(),
                            .db = server->db_.get(),
                            .auth = server->auth_.get(),
                            .evaluations = server->evaluations_.get(),
                            .forwarder = server->forwarder_.get(),
                            .metrics = &server->metrics_,
                            .config = &server->engine_->config().server,
                            .ready = [raw] { return raw->Ready(); },
                            .gauges = [raw] { return raw->delivery_->Gauges(); }});
    if (!http.ok()) return http.status();
    server->http_ = *std::move(http);
  }
  server->server_->GetHealthCheckService()->SetServingStatus(true);
  server->ready_ = true;
  return server;
}

absl::Status Server::Ready() {
  if (!ready_.load()) return absl::UnavailableError("starting or draining");
  return db_ != nullptr ? db_->Healthy() : absl::OkStatus();
}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::Shutdown(absl::Duration grace) {
  if (!server_) return;
  ready_ = false;
  server_->GetHealthCheckService()->SetServingStatus(false);
  if (http_) http_->Stop();
  // Streams end with UNAVAILABLE, which clients retry; a call still running at
  // the end of the grace period is cancelled.
  service_->Drain();
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(grace));
  server_->Wait();
  server_.reset();
  // Every acknowledged batch is committed already: nothing is held back.
}

void Server::Wait() {
  if (server_) server_->Wait();
}

}  // namespace trailsentry::service
