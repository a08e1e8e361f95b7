// DecodeRequest: a gRPC request message from its bytes, with an error that says
// what is wrong.
//
// gRPC's own decoding answers a message it cannot parse with UNIMPLEMENTED and
// no message; the commonest cause is a string field (raw_json, an identity)
// holding bytes that are not UTF-8, which proto3 forbids. Here such a request
// gets INVALID_ARGUMENT naming the field: "events[3].raw_json: not valid UTF-8".
//
//   v1::EvaluateRequest request;
//   absl::Status s = DecodeRequest(buffer, request);
#ifndef TRAILSENTRY_SERVER_SERVICE_REQUEST_DECODER_H_
#define TRAILSENTRY_SERVER_SERVICE_REQUEST_DECODER_H_

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace trailsentry::service {

[[nodiscard]] absl::Status DecodeRequest(const grpc::ByteBuffer& buffer,
                                         google::protobuf::Message& out);

// Serializes a response for a raw (ByteBuffer) method.
[[nodiscard]] absl::Status EncodeResponse(const google::protobuf::Message& message,
                                          grpc::ByteBuffer& out);

// The path of the first string field of `bytes` (a serialized `type`) that is not
// valid UTF-8, e.g. "events[3].raw_json"; nullopt if there is none.
std::optional<std::string> FindInvalidUtf8(std::string_view bytes,
                                           const google::protobuf::Descriptor& type);

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_REQUEST_DECODER_H_
