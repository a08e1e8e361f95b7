// ParseProtoJson: an HTTP body into a request message, strictly. proto3 JSON as
// protobuf reads it, and more: a repeated field given one value instead of a list
// (`{"events": {...}}`) is refused, not read as a list of one, and so is an
// unknown field; the error names the field's path.
//
//   v1::EvaluateRequest request;
//   absl::Status s = ParseProtoJson(body, &request);  // INVALID_ARGUMENT naming the field
#ifndef TRAILSENTRY_SERVER_SERVICE_PROTO_JSON_H_
#define TRAILSENTRY_SERVER_SERVICE_PROTO_JSON_H_

#include <google/protobuf/message.h>

#include <string_view>

#include "absl/status/status.h"

namespace trailsentry::service {

[[nodiscard]] absl::Status ParseProtoJson(std::string_view body, google::protobuf::Message* m);

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_PROTO_JSON_H_
