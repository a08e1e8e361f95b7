#include "client/client.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "client/evaluate_pipeline.h"
#include "client/verdict_merge.h"
#include "server/engine/record_account.h"
#include "trailsentry/grpc_status.h"
#include "trailsentry/shard_key.h"

namespace trailsentry {

namespace {

// Detection calls: UNAVAILABLE retried at 0.25, 0.5, 1 and 2 s (jittered), and
// with wait_for_ready, calls wait (up to their deadline) while the server cannot
// be reached. Admin's calls (a backup) are not retried.
std::string ServiceConfig(bool wait_for_ready) {
  return absl::StrCat(R"json({
  "methodConfig": [{
    "name": [{"service": "trailsentry.v1.Detection"}],
    "waitForReady": )json",
                      wait_for_ready ? "true" : "false", R"json(,
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.25s",
      "maxBackoff": "2s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json");
}

absl::StatusOr<std::string> ReadPem(const std::string& path, const char* what) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(what, ": cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Client>> Client::Connect(const Options& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("server address is empty");
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  // Each Client its own connection (channels with equal arguments would share
  // one): a process holding several spreads its calls over them.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // A server restarting (or draining on SIGTERM) answers UNAVAILABLE or is not
  // there for a moment: calls wait for it or are retried (every Detection call
  // may be sent twice: re-evaluating a batch changes nothing, spec §4), and the
  // channel reconnects within a second of the server being back.
  args.SetServiceConfigJSON(ServiceConfig(options.wait_for_ready));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!options.tls_ca_file.empty() || !options.tls_cert_file.empty()) {
    grpc::SslCredentialsOptions ssl;
    if (!options.tls_ca_file.empty()) {
      absl::StatusOr<std::string> ca = ReadPem(options.tls_ca_file, "tls ca");
      if (!ca.ok()) return ca.status();
      ssl.pem_root_certs = *ca;
    }
    if (!options.tls_cert_file.empty()) {
      absl::StatusOr<std::string> cert = ReadPem(options.tls_cert_file, "tls cert");
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadPem(options.tls_key_file, "tls key");
      if (!key.ok()) return key.status();
      ssl.pem_cert_chain = *cert;
      ssl.pem_private_key = *key;
    }
    credentials = grpc::SslCredentials(ssl);
    if (!options.tls_server_name.empty()) {
      args.SetSslTargetNameOverride(options.tls_server_name);
    }
  }
  auto channel = grpc::CreateCustomChannel(options.target, credentials, args);
  if (!channel) return absl::InternalError("cannot create channel to " + options.target);
  return std::make_unique<Client>(std::move(channel), options);
}

Client::Client(std::shared_ptr<grpc::Channel> channel, Options options)
    : channel_(std::move(channel)),
      stub_(v1::Detection::NewStub(channel_)),
      admin_(v1::Admin::NewStub(channel_)),
      options_(std::move(options)) {}

namespace {

// The account a known-network request is about (none for hostile networks,
// which are the tenant's: every replica of the tenant holds its own).
template <typename Request>
std::string_view ScopeShardKey(const Request& r) {
  if (!r.identity().empty()) return IdentityAccount(r.identity());
  return r.account_id();
}

}  // namespace

template <typename Request, typename Response, typename Stub, typename Method>
absl::StatusOr<Response> Client::Call(const char* name, Stub& stub, Method method,
                                      const Request& request, std::string_view shard_key) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(options_.timeout));
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
  if (!shard_key.empty()) context.AddMetadata(kShardHeader, std::string(shard_key));
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) {
    absl::Status s = FromGrpcStatus(status);
    return absl::Status(s.code(), absl::StrCat(name, " on ", options_.target, ": ", s.message()));
  }
  return response;
}

absl::StatusOr<v1::EvaluateResponse> Client::Evaluate(const v1::EvaluateRequest& request) {
  return Call<v1::EvaluateRequest, v1::EvaluateResponse>("Evaluate", *stub_,
                                                         &v1::Detection::Stub::Evaluate, request);
}

absl::StatusOr<v1::IdentityProfile> Client::GetIdentity(std::string_view identity) {
  v1::GetIdentityRequest request;
  request.set_identity(std::string(identity));
  return Call<v1::GetIdentityRequest, v1::IdentityProfile>(
      "GetIdentity", *stub_, &v1::Detection::Stub::GetIdentity, request, IdentityAccount(identity));
}

absl::StatusOr<v1::ListAlertsResponse> Client::ListAlerts(const v1::ListAlertsRequest& request) {
  return Call<v1::ListAlertsRequest, v1::ListAlertsResponse>(
      "ListAlerts", *stub_, &v1::Detection::Stub::ListAlerts, request);
}

absl::StatusOr<v1::AddKnownNetworkResponse> Client::AddKnownNetwork(
    const v1::AddKnownNetworkRequest& request) {
  return Call<v1::AddKnownNetworkRequest, v1::AddKnownNetworkResponse>(
      "AddKnownNetwork", *stub_, &v1::Detection::Stub::AddKnownNetwork, request,
      ScopeShardKey(request));
}

absl::StatusOr<v1::ListKnownNetworksResponse> Client::ListKnownNetworks(
    const v1::ListKnownNetworksRequest& request) {
  return Call<v1::ListKnownNetworksRequest, v1::ListKnownNetworksResponse>(
      "ListKnownNetworks", *stub_, &v1::Detection::Stub::ListKnownNetworks, request,
      ScopeShardKey(request));
}

absl::StatusOr<v1::RemoveKnownNetworkResponse> Client::RemoveKnownNetwork(
    const v1::RemoveKnownNetworkRequest& request) {
  return Call<v1::RemoveKnownNetworkRequest, v1::RemoveKnownNetworkResponse>(
      "RemoveKnownNetwork", *stub_, &v1::Detection::Stub::RemoveKnownNetwork, request,
      ScopeShardKey(request));
}

absl::Status Client::ForgetIdentity(std::string_view identity) {
  v1::ForgetIdentityRequest request;
  request.set_identity(std::string(identity));
  return Call<v1::ForgetIdentityRequest, v1::ForgetIdentityResponse>(
             "ForgetIdentity", *stub_, &v1::Detection::Stub::ForgetIdentity, request,
             IdentityAccount(identity))
      .status();
}

absl::StatusOr<v1::BackupResponse> Client::Backup(std::string_view name) {
  v1::BackupRequest request;
  request.set_name(std::string(name));
  return Call<v1::BackupRequest, v1::BackupResponse>("Backup", *admin_, &v1::Admin::Stub::Backup,
                                                     request);
}

absl::StatusOr<Client::RecordsResult> Client::EvaluateRecords(
    const std::vector<std::string>& records, int batch_size, int in_flight) {
  if (batch_size < 1) return absl::InvalidArgumentError("batch size must be at least 1");
  if (in_flight < 1) return absl::InvalidArgumentError("in_flight must be at least 1");
  // Each account's records, in record order; accounts in order of appearance.
  std::vector<std::pair<std::string, std::vector<int>>> accounts;
  {
    absl::flat_hash_map<std::string, size_t> index;
    engine::RecordAccountReader reader;
    std::string padded;
    for (size_t i = 0; i < records.size(); ++i) {
      padded.assign(records[i]);
      padded.resize(records[i].size() + simdjson::SIMDJSON_PADDING);
      const std::string_view account =
          reader.Read(std::string_view(padded.data(), records[i].size()), padded.size());
      auto [it, inserted] = index.try_emplace(std::string(account), accounts.size());
      if (inserted) accounts.emplace_back(std::string(account), std::vector<int>());
      accounts[it->second].second.push_back(static_cast<int>(i));
    }
  }
  RecordsResult result;
  VerdictMerge merge(&result.response, static_cast<int>(records.size()));
  std::deque<std::vector<int>> unanswered;  // each sent request's records, oldest first
  absl::Status merge_error;
  EvaluatePipeline pipeline(
      *this, {.window = 4, .by_shard_key = true, .max_unanswered = in_flight},
      [&](const v1::EvaluateResponse& response) {
        absl::Status s = merge.Add(unanswered.front(), response);
        if (!s.ok() && merge_error.ok()) merge_error = s;
        unanswered.pop_front();
      },
      [&](std::string_view account, const absl::Status& why) {
        merge.Fail(unanswered.front(), why.ToString());
        result.failed.try_emplace(std::string(account), why);
        unanswered.pop_front();
      });
  for (const auto& [account, indexes] : accounts) {
    for (size_t start = 0; start < indexes.size(); start += static_cast<size_t>(batch_size)) {
      const size_t end = std::min(indexes.size(), start + static_cast<size_t>(batch_size));
      v1::EvaluateRequest request;
      for (size_t i = start; i < end; ++i) {
        request.add_events()->set_raw_json(records[static_cast<size_t>(indexes[i])]);
      }
      unanswered.emplace_back(indexes.begin() + static_cast<std::ptrdiff_t>(start),
                              indexes.begin() + static_cast<std::ptrdiff_t>(end));
      if (absl::Status s = pipeline.SendFor(request, account); !s.ok()) return s;
    }
  }
  if (absl::Status s = pipeline.Finish(); !s.ok()) return s;
  if (!merge_error.ok()) return merge_error;
  if (!accounts.empty() && result.failed.size() == accounts.size()) {
    return result.failed.begin()->second;
  }
  merge.Finish();
  return result;
}

absl::StatusOr<v1::Alert> Client::GetAlert(std::string_view alert_id) {
  v1::GetAlertRequest request;
  request.set_alert_id(std::string(alert_id));
  return Call<v1::GetAlertRequest, v1::Alert>("GetAlert", *stub_, &v1::Detection::Stub::GetAlert,
                                              request);
}

absl::StatusOr<v1::Alert> Client::UpdateAlert(const v1::UpdateAlertRequest& request) {
  return Call<v1::UpdateAlertRequest, v1::Alert>("UpdateAlert", *stub_,
                                                 &v1::Detection::Stub::UpdateAlert, request);
}

absl::Status Client::WatchAlerts(const v1::WatchAlertsRequest& request,
                                 grpc::ClientContext& context,
                                 absl::FunctionRef<bool(const v1::AlertChange&)> on_change) {
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
  std::unique_ptr<grpc::ClientReader<v1::AlertChange>> reader =
      stub_->WatchAlerts(&context, request);
  v1::AlertChange change;
  while (reader->Read(&change)) {
    if (!on_change(change)) {
      context.TryCancel();
      (void)reader->Finish();
      return absl::OkStatus();
    }
  }
  grpc::Status status = reader->Finish();
  if (status.ok()) return absl::OkStatus();
  absl::Status s = FromGrpcStatus(status);
  return absl::Status(s.code(),
                      absl::StrCat("WatchAlerts on ", options_.target, ": ", s.message()));
}

std::unique_ptr<grpc::ClientReaderWriter<v1::EvaluateRequest, v1::EvaluateResponse>>
Client::OpenEvaluateStream(grpc::ClientContext& context) {
  if (!options_.token.empty()) context.AddMetadata("authorization", "Bearer " + options_.token);
  return stub_->EvaluateStream(&context);
}

}  // namespace trailsentry
