// Fuzz target: the bytes a caller sends as a request, over both transports — as
// a gRPC message (DecodeRequest, the raw-method decoding) and as an HTTP body
// (proto3 JSON) — then through RequestEvaluator into an engine. Must never
// crash, hang or grow without bound.
#include <google/protobuf/util/json_util.h>
#include <grpc/grpc.h>
#include <grpcpp/support/byte_buffer.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/engine/engine.h"
#include "server/service/request_decoder.h"
#include "server/service/request_evaluator.h"

namespace {

trailsentry::engine::Engine& FuzzEngine() {
  static auto* engine = trailsentry::engine::Engine::Create({}).value().release();
  return *engine;
}

void Evaluate(const trailsentry::v1::EvaluateRequest& request) {
  trailsentry::engine::ServerConfig limits;
  limits.max_events_per_request = 1000;
  limits.max_inflated_bytes = 16 << 20;
  trailsentry::service::RequestEvaluator evaluator(FuzzEngine(), nullptr, limits);
  trailsentry::v1::EvaluateResponse response;
  (void)evaluator.Evaluate("fuzz", request, &response);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool initialized = [] {
    grpc_init();
    return true;
  }();
  (void)initialized;
  // As a gRPC message.
  grpc::Slice slice(data, size);
  grpc::ByteBuffer buffer(&slice, 1);
  trailsentry::v1::EvaluateRequest request;
  if (trailsentry::service::DecodeRequest(buffer, request).ok()) Evaluate(request);
  // As an HTTP body.
  request.Clear();
  google::protobuf::util::JsonParseOptions options;
  const std::string body(reinterpret_cast<const char*>(data), size);
  if (google::protobuf::util::JsonStringToMessage(body, &request, options).ok()) Evaluate(request);
  return 0;
}
