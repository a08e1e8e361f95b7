// trailsentry::Client: the thin C++ client of the trailsentry.v1.Detection API.
//
// Every call returns absl::Status/StatusOr and carries a deadline. Calls ride
// out a server restart: UNAVAILABLE is retried, and calls wait for a server that
// cannot be reached (Options::wait_for_ready).
//
//   auto client = trailsentry::Client::Connect({.target = "127.0.0.1:50051"}).value();
//   absl::StatusOr<v1::EvaluateResponse> r = client->Evaluate(request);
//   auto result = client->EvaluateRecords(records, /*batch_size=*/500);  // split by account
//
// Long runs of requests with several in flight: EvaluatePipeline.
#ifndef TRAILSENTRY_CLIENT_CLIENT_H_
#define TRAILSENTRY_CLIENT_CLIENT_H_

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "trailsentry/v1/admin.grpc.pb.h"
#include "trailsentry/v1/detection.grpc.pb.h"

namespace trailsentry {

class Client {
 public:
  struct Options {
    std::string target = "127.0.0.1:50051";
    absl::Duration timeout = absl::Seconds(30);  // per call
    int max_message_bytes = 64 << 20;
    std::string token;  // sent as "authorization: Bearer <token>"
    // TLS: any of these set means TLS. ca: PEM roots to verify the server (empty:
    // system roots); cert + key: a client certificate for mTLS.
    std::string tls_ca_file, tls_cert_file, tls_key_file;
    std::string tls_server_name;  // override the name checked in the server certificate
    // While the server cannot be reached (restarting), calls wait for it up to
    // their timeout; off, they fail after about 4 s of retries (the CLI's choice:
    // a mistyped address should not take 30 s to report).
    bool wait_for_ready = true;
  };

  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Client>> Connect(const Options& options);
  // For tests and embedding: a client over an existing channel.
  Client(std::shared_ptr<grpc::Channel> channel, Options options);
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  [[nodiscard]] absl::StatusOr<v1::EvaluateResponse> Evaluate(const v1::EvaluateRequest& request);
  [[nodiscard]] absl::StatusOr<v1::IdentityProfile> GetIdentity(std::string_view identity);
  [[nodiscard]] absl::StatusOr<v1::ListAlertsResponse> ListAlerts(
      const v1::ListAlertsRequest& request);
  [[nodiscard]] absl::StatusOr<v1::AddKnownNetworkResponse> AddKnownNetwork(
      const v1::AddKnownNetworkRequest& request);
  [[nodiscard]] absl::StatusOr<v1::ListKnownNetworksResponse> ListKnownNetworks(
      const v1::ListKnownNetworksRequest& request);
  [[nodiscard]] absl::StatusOr<v1::RemoveKnownNetworkResponse> RemoveKnownNetwork(
      const v1::RemoveKnownNetworkRequest& request);
  [[nodiscard]] absl::Status ForgetIdentity(std::string_view identity);
  [[nodiscard]] absl::StatusOr<v1::Alert> GetAlert(std::string_view alert_id);
  [[nodiscard]] absl::StatusOr<v1::Alert> UpdateAlert(const v1::UpdateAlertRequest& request);
  // Calls `on_change` with each alert change after the request's cursor, as the
  // server commits them, until `on_change` returns false (OK), `context` is
  // cancelled (CANCELLED), or the call fails. No deadline: a watch runs for as
  // long as the caller wants; resume from the last sequence handled.
  [[nodiscard]] absl::Status WatchAlerts(const v1::WatchAlertsRequest& request,
                                         grpc::ClientContext& context,
                                         absl::FunctionRef<bool(const v1::AlertChange&)> on_change);
  // Admin: a backup of the server's database, under its --backup_dir.
  [[nodiscard]] absl::StatusOr<v1::BackupResponse> Backup(std::string_view name);

  // What EvaluateRecords answers: one verdict per record, in record order, and
  // each alert the records opened or updated once, in its latest state.
  // `failed`: accounts whose replica could not evaluate them, with why; their
  // records' verdicts are REJECTED (field "account", "account: not evaluated:
  // ..."), the other accounts' stand.
  struct RecordsResult {
    v1::EvaluateResponse response;
    std::map<std::string, absl::Status> failed;
  };
  // The batching helper: sends raw CloudTrail records split by account, each
  // account's in requests of at most `batch_size` on an EvaluateStream of its
  // own that carries the account as shard key (so a proxy in front of
  // account-sharded replicas takes each to its replica; one server takes them
  // all), at most `in_flight` requests unanswered, and merges the answers. Fails
  // when the call as a whole does (every account failed, or an answer overdue).
  [[nodiscard]] absl::StatusOr<RecordsResult> EvaluateRecords(
      const std::vector<std::string>& records, int batch_size, int in_flight = 8);

  // An EvaluateStream call on `context`, with the token and no deadline (a stream
  // may run for hours; EvaluatePipeline bounds the wait for each response).
  [[nodiscard]] std::unique_ptr<grpc::ClientReaderWriter<v1::EvaluateRequest, v1::EvaluateResponse>>
  OpenEvaluateStream(grpc::ClientContext& context);

  const Options& options() const { return options_; }
  // The connection, for more Clients over it (another token, say).
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

 private:
  template <typename Request, typename Response, typename Stub, typename Method>
  // `shard_key` (an account; empty: none) goes in the x-trailsentry-shard
  // header, so a proxy in front of account-sharded replicas routes the call.
  absl::StatusOr<Response> Call(const char* name, Stub& stub, Method method, const Request& request,
                                std::string_view shard_key = {});

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Detection::Stub> stub_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  Options options_;
};

}  // namespace trailsentry

#endif  // TRAILSENTRY_CLIENT_CLIENT_H_
