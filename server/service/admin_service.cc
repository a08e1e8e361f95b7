#include "server/service/admin_service.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "server/engine/printable.h"
#include "server/service/detection_service.h"
#include "trailsentry/grpc_status.h"

namespace trailsentry::service {
namespace {

absl::StatusOr<v1::BackupResponse> Run(storage::Database* db, const Authenticator& auth,
                                       const std::string& backup_dir,
                                       grpc::CallbackServerContext& context,
                                       const v1::BackupRequest& request) {
  absl::StatusOr<std::string> tenant = TenantOfCall(auth, context);
  if (!tenant.ok()) return tenant.status();
  if (auth.enabled() && *tenant != kAdminTenant) {
    return absl::PermissionDeniedError(
        absl::StrCat("Backup needs a token of tenant \"", kAdminTenant, "\""));
  }
  if (backup_dir.empty()) {
    return absl::FailedPreconditionError("backups are off: start trailsentryd with --backup_dir");
  }
  const std::string& name = request.name();
  if (!engine::IsValidTenant(name) || name == "." || name == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("name: \"", engine::Printable(name), "\" is not 1-64 of [A-Za-z0-9._-]"));
  }
  if (db == nullptr) return absl::FailedPreconditionError("no database");
  const std::string path = absl::StrCat(backup_dir, "/", name);
  absl::StatusOr<uint64_t> bytes = db->Backup(path);
  if (!bytes.ok()) return bytes.status();
  v1::BackupResponse response;
  response.set_path(path);
  response.set_bytes(*bytes);
  const int64_t mark = db->watermark();
  response.mutable_watermark()->set_seconds(mark / 1000);
  response.mutable_watermark()->set_nanos(static_cast<int32_t>(mark % 1000) * 1000000);
  spdlog::info("backup written to {} ({} bytes)", engine::Printable(path), *bytes);
  return response;
}

}  // namespace

grpc::ServerUnaryReactor* AdminService::Backup(grpc::CallbackServerContext* context,
                                               const v1::BackupRequest* request,
                                               v1::BackupResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<v1::BackupResponse> r = Run(db_, auth_, backup_dir_, *context, *request);
  const grpc::Status status = r.ok() ? grpc::Status::OK : ToGrpcStatus(r.status());
  if (r.ok()) *response = *std::move(r);
  reactor->Finish(status);
  return reactor;
}

}  // namespace trailsentry::service
