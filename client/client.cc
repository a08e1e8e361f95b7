#include "client/client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "trailsentry/grpc_status.h"

namespace trailsentry {

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const Options& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("server address is empty");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  auto channel =
      grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), args);
  if (!channel) return absl::InternalError("cannot create channel to " + options.target);
  return std::make_unique<Client>(std::move(channel), options);
}

Client::Client(std::shared_ptr<grpc::Channel> channel, Options options)
    : channel_(std::move(channel)),
      stub_(v1::Detection::NewStub(channel_)),
      options_(std::move(options)) {}

absl::StatusOr<v1::EvaluateResponse> Client::Evaluate(const v1::EvaluateRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options_.timeout));
  v1::EvaluateResponse response;
  grpc::Status status = stub_->Evaluate(&context, request, &response);
  if (!status.ok()) {
    absl::Status s = FromGrpcStatus(status);
    return absl::Status(s.code(), absl::StrCat("Evaluate on ", options_.target, ": ", s.message()));
  }
  return response;
}

absl::Status Client::EvaluateRecords(
    const std::vector<std::string>& records, int batch_size,
    absl::FunctionRef<void(const v1::EvaluateResponse&)> on_response) {
  if (batch_size < 1) return absl::InvalidArgumentError("batch size must be at least 1");
  v1::EvaluateRequest request;
  for (size_t start = 0; start < records.size(); start += static_cast<size_t>(batch_size)) {
    request.Clear();
    const size_t end = std::min(records.size(), start + static_cast<size_t>(batch_size));
    for (size_t i = start; i < end; ++i) request.add_events()->set_raw_json(records[i]);
    absl::StatusOr<v1::EvaluateResponse> response = Evaluate(request);
    if (!response.ok()) return response.status();
    on_response(*response);
  }
  return absl::OkStatus();
}

}  // namespace trailsentry
