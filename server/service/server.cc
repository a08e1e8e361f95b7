#include "server/service/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"

namespace trailsentry::service {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const engine::Config& config,
                                                      Options options) {
  std::unique_ptr<Server> server(new Server());
  if (!options.in_memory) {
    absl::StatusOr<std::unique_ptr<storage::Database>> db = storage::Database::Open(
        {.path = config.server.data_dir, .config = &config, .sync = options.sync});
    if (!db.ok()) return db.status();
    server->db_ = *std::move(db);
  }
  absl::StatusOr<std::unique_ptr<engine::Engine>> engine =
      engine::Engine::Create(config, server->db_.get());
  if (!engine.ok()) return engine.status();
  server->engine_ = *std::move(engine);
  server->service_ =
      std::make_unique<DetectionService>(*server->engine_, server->db_.get(), config.server);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.server.listen, grpc::InsecureServerCredentials(), &server->port_);
  builder.SetMaxReceiveMessageSize(config.server.max_message_bytes);
  builder.SetMaxSendMessageSize(config.server.max_message_bytes);
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || server->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.server.listen, " (address in use or invalid?)"));
  }
  server->server_->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::Shutdown(absl::Duration grace) {
  if (!server_) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(std::chrono::system_clock::now() + absl::ToChronoSeconds(grace));
  server_->Wait();
  server_.reset();
  // No call is running now: write what baseline write coalescing held back.
  if (db_ != nullptr) {
    storage::StateBatch batch(*db_);
    engine_->FlushPending(&batch);
    if (absl::Status s = db_->Commit(batch); !s.ok()) {
      spdlog::error("flushing baselines at shutdown: {}", std::string(s.message()));
    }
  }
}

void Server::Wait() {
  if (server_) server_->Wait();
}

}  // namespace trailsentry::service
