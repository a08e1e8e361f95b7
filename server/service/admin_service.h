// AdminService: the trailsentry.v1.Admin gRPC service, operations on the server
// itself. With authentication on, only tenant "admin" may call it.
//
//   AdminService admin(db, auth, "/var/backups/trailsentry");
//   builder.RegisterService(&admin);
#ifndef TRAILSENTRY_SERVER_SERVICE_ADMIN_SERVICE_H_
#define TRAILSENTRY_SERVER_SERVICE_ADMIN_SERVICE_H_

#include <string>

#include "server/service/authenticator.h"
#include "storage/database.h"
#include "trailsentry/v1/admin.grpc.pb.h"

namespace trailsentry::service {

inline constexpr char kAdminTenant[] = "admin";

class AdminService final : public v1::Admin::CallbackService {
 public:
  // `backup_dir` empty: Backup answers FAILED_PRECONDITION.
  AdminService(storage::Database* db, const Authenticator& auth, std::string backup_dir)
      : db_(db), auth_(auth), backup_dir_(std::move(backup_dir)) {}

  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* context,
                                   const v1::BackupRequest* request,
                                   v1::BackupResponse* response) override;

 private:
  storage::Database* const db_;
  const Authenticator& auth_;
  const std::string backup_dir_;
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_ADMIN_SERVICE_H_
