// RequestEvaluator: one EvaluateRequest through the engine into an EvaluateResponse.
//
// Parses each event (raw JSON, EventBridge envelope or structured), evaluates it,
// and fills a verdict per event in request order (only the rejected events'
// with VERDICT_DETAIL_REJECTED), then each alert the request opened or updated,
// once, in its final state. A bad record only gets a REJECTED
// verdict naming the field; it never fails the request or touches state. Every
// string of a reply is valid UTF-8, whatever bytes the request held.
//
//   RequestEvaluator evaluator(engine, db, config.server);
//   absl::Status s = evaluator.Evaluate("default", request, &response);
#ifndef TRAILSENTRY_SERVER_SERVICE_REQUEST_EVALUATOR_H_
#define TRAILSENTRY_SERVER_SERVICE_REQUEST_EVALUATOR_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/engine/engine.h"
#include "server/engine/shard_ring.h"
#include "server/service/metrics.h"
#include "storage/database.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry::service {

// An event of a request that another replica owns, taken out to be sent on to
// it (HTTP on account-sharded replicas: see ShardForwarder). `index`: its
// verdict's place in the response, left empty for the owner's.
struct ForwardedEvent {
  int index = 0;
  std::string account, owner;
  v1::Event event;
};

class RequestEvaluator {
 public:
  // `db` (may be null: nothing persisted) receives the request's state changes
  // in one transaction, committed before Evaluate returns.
  // `limits`: max_events_per_request, max_inflated_bytes.
  // With `limits.shard` set, events of accounts the ring gives to another
  // replica are rejected (field "account", naming the owner).
  RequestEvaluator(engine::Engine& engine, storage::Database* db,
                   const engine::ServerConfig& limits)
      : engine_(engine), db_(db), limits_(limits), ring_(limits.shard.replicas) {}

  // INVALID_ARGUMENT (naming the limit) when the request holds more events than
  // max_events_per_request (its events and its payload's records together) or
  // its payload inflates past max_inflated_bytes: one error, nothing evaluated,
  // nothing stored. UNAVAILABLE when state
  // could not be read or committed: nothing of the request stands (in memory or
  // on disk), so a retry is judged as this try would have been.
  // With `forwarded` (and a shard), events another replica owns are not
  // rejected but moved there, each with an empty verdict in its place; the
  // response then has a verdict for every event whatever the request's
  // verdict_detail (KeepRequestedVerdicts trims it once they are answered).
  [[nodiscard]] absl::Status Evaluate(std::string_view tenant, const v1::EvaluateRequest& request,
                                      v1::EvaluateResponse* response,
                                      std::vector<ForwardedEvent>* forwarded = nullptr);

  // After Evaluate: the flags of the events evaluated, for the metrics.
  const VerdictFlagCounts& flag_counts() const { return flags_; }

 private:
  absl::Status OverLimit(const absl::Status& read, int events) const;

  engine::Engine& engine_;
  storage::Database* const db_;
  const engine::ServerConfig& limits_;
  const engine::ShardRing ring_;
  VerdictFlagCounts flags_{};
};

// With VERDICT_DETAIL_REJECTED, drops `response`'s verdicts of accepted events
// (each verdict kept names its event by `index`); else leaves it as it is.
void KeepRequestedVerdicts(const v1::EvaluateRequest& request, v1::EvaluateResponse* response);

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_REQUEST_EVALUATOR_H_
