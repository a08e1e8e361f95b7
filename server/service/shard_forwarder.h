// ShardForwarder: on account-sharded replicas, the HTTP gateway's way to the
// replica that owns an account.
//
// A proxy routes gRPC calls by their x-trailsentry-shard header onto the
// replicas' ring, but cannot route HTTP requests onto the same ring (nginx's
// ring hashes the upstream addresses, and a replica's HTTP port is not its gRPC
// port). So any replica takes an HTTP request: it evaluates the events of its
// own accounts and sends the others' to their owners over gRPC, with the
// caller's credentials, all owners at once; identity and trusted-network calls
// go to the owner of their account the same way. gRPC calls are never
// forwarded (a misrouted one is refused), so nothing goes round in circles.
//
//   auto forwarder = ShardForwarder::Create(config.server.shard, {...}).value();
//   std::vector<ForwardedEvent> others;
//   evaluations.Evaluate("http", tenant, request, &response, &others);
//   absl::Status s = forwarder->Forward(authorization, std::move(others), &response);
#ifndef TRAILSENTRY_SERVER_SERVICE_SHARD_FORWARDER_H_
#define TRAILSENTRY_SERVER_SERVICE_SHARD_FORWARDER_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/client.h"
#include "server/engine/config.h"
#include "server/engine/shard_ring.h"
#include "server/service/request_evaluator.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry::service {

class ShardForwarder {
 public:
  struct Options {
    // As a client of the other replicas (their gRPC port): TLS when any is set
    // (a replica serving TLS passes its own certificate, and the CA of its
    // client certificates as the roots to check the others against).
    std::string tls_ca, tls_cert, tls_key;
    int max_message_bytes = 64 << 20;
    absl::Duration timeout = absl::Seconds(30);  // per call to another replica
  };
  // INVALID_ARGUMENT when `shard` names no replicas (a single node forwards
  // nothing); a certificate that cannot be read fails here.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<ShardForwarder>> Create(
      const engine::ShardConfig& shard, const Options& options);

  // Sends each owner its events in one Evaluate, every owner at once, with the
  // caller's "authorization" header value, and puts the verdicts in their places
  // in `response` (alerts after its own), counting them. When an owner fails,
  // its events get REJECTED verdicts and the answer is that owner's status
  // (UNAVAILABLE when it is down), naming its accounts: the other events were
  // evaluated, and sending the whole request again judges them duplicates.
  [[nodiscard]] absl::Status Forward(std::string_view authorization,
                                     std::vector<ForwardedEvent> events,
                                     v1::EvaluateResponse* response) const;

  // A client of the replica that owns `account`, calling with the caller's
  // "authorization" header value; null when this replica owns it.
  [[nodiscard]] std::unique_ptr<Client> OwnerOf(std::string_view account,
                                                std::string_view authorization) const;

  // Every replica's alerts, this one's included, as one list (ListAlertsAcross).
  [[nodiscard]] absl::StatusOr<v1::ListAlertsResponse> ListAlerts(
      std::string_view authorization, const v1::ListAlertsRequest& request) const;

  // An alert this replica does not hold (alert ids name no account): asks the
  // other replicas in turn until one answers other than NOT_FOUND;
  // `not_found` when none holds it.
  [[nodiscard]] absl::StatusOr<v1::Alert> OnOthers(
      std::string_view authorization, absl::FunctionRef<absl::StatusOr<v1::Alert>(Client&)> call,
      const absl::Status& not_found) const;

 private:
  ShardForwarder(const engine::ShardConfig& shard, const Options& options)
      : ring_(shard.replicas), self_(shard.self), options_(options) {}
  std::unique_ptr<Client> ClientOf(std::string_view owner, std::string_view authorization) const;

  const engine::ShardRing ring_;
  const std::string self_;
  const Options options_;
  // One connection per replica, this one's included (for fan-out), opened at
  // start (gRPC connects lazily).
  absl::flat_hash_map<std::string, std::unique_ptr<Client>> peers_;
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_SHARD_FORWARDER_H_
