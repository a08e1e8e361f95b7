// The one mapping between absl::Status and grpc::Status, used by the server and
// the client library alike.
//
//   return ToGrpcStatus(engine_status);          // server side
//   absl::Status s = FromGrpcStatus(rpc_status);  // client side
#ifndef TRAILSENTRY_PROTOS_TRAILSENTRY_GRPC_STATUS_H_
#define TRAILSENTRY_PROTOS_TRAILSENTRY_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace trailsentry {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace trailsentry

#endif  // TRAILSENTRY_PROTOS_TRAILSENTRY_GRPC_STATUS_H_
