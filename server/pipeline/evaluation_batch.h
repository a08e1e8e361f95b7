// EvaluationBatch: the one evaluation pipeline. Events of one batch go through
// parse → checks (spec §1) → the engine's rules, and the batch's state changes are
// committed in one transaction. Every way in uses it: Evaluate over gRPC and
// HTTP (RequestEvaluator), `trailsentry scan` (FileScan), and the rule tests.
//
// A bad record is reported to the sink as rejected, naming the field; it never
// touches state. The sink sees one call per input, in input order.
//
//   EvaluationBatch batch(engine, db, "default", sink);
//   batch.AddRecord(record);            // a parsed JSON record
//   batch.AddStructured(proto_event);   // or a structured one
//   absl::Status s = batch.Commit();    // UNAVAILABLE: nothing of the batch stands
#ifndef TRAILSENTRY_SERVER_PIPELINE_EVALUATION_BATCH_H_
#define TRAILSENTRY_SERVER_PIPELINE_EVALUATION_BATCH_H_

#include <simdjson.h>

#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "server/engine/engine.h"
#include "server/engine/record_parser.h"
#include "server/engine/shard_ring.h"
#include "storage/database.h"
#include "storage/transaction.h"
#include "trailsentry/v1/event.pb.h"

namespace trailsentry::pipeline {

class DriftGate;

// Where a batch's verdicts go.
class VerdictSink {
 public:
  virtual ~VerdictSink() = default;
  virtual void Rejected(const engine::RecordError& error) = 0;
  // `verdict.identity` is valid only during the call.
  virtual void Evaluated(const engine::Event& event, const engine::Verdict& verdict) = 0;
  // An event of an account another replica (`owner`) owns, from a batch that
  // forwards them (EvaluationBatch::SetShard): `event` as the input gave it
  // (raw JSON text, or structured). It is not evaluated here.
  virtual void Forward(std::string_view account, std::string_view owner, v1::Event&& event);
};

class EvaluationBatch {
 public:
  // `db` may be null (nothing persisted). `now` is the wall-clock time events
  // may not be later than (spec §1).
  EvaluationBatch(engine::Engine& engine, storage::Database* db, std::string_view tenant,
                  VerdictSink& sink, engine::EventTime now);
  EvaluationBatch(const EvaluationBatch&) = delete;
  EvaluationBatch& operator=(const EvaluationBatch&) = delete;

  // With a gate, each event waits before evaluation until the batches begun
  // before this one have caught up in event time (see DriftGate). Call before
  // adding events; `lane` is the batch's lane in the gate.
  void SetGate(DriftGate* gate, int lane) {
    gate_ = gate;
    lane_ = lane;
  }

  // A replica of account-sharded replicas: events of an account `ring` gives to
  // another replica than `self` are rejected (field "account", naming the
  // owner), so a misrouting sender or proxy cannot split an account's state;
  // with `forward`, they go to the sink's Forward instead, to be sent on to
  // their owner. Both must outlive the batch.
  void SetShard(const engine::ShardRing* ring, std::string_view self, bool forward = false) {
    ring_ = ring;
    self_ = self;
    forward_ = forward;
  }

  // One JSON record, as RecordReader gives it.
  void AddRecord(simdjson::dom::element record);
  // One record as JSON text (parsed on this thread's parser; an EventBridge
  // envelope is unwrapped).
  void AddJson(std::string_view json);
  // One structured event (the same field limits as a record's).
  void AddStructured(const v1::CloudTrailEvent& event);
  // An input that is no event at all.
  void Reject(const engine::RecordError& error) { sink_.Rejected(error); }

  // The alerts the batch opened or updated, in the order they changed.
  const std::vector<engine::AlertChange>& changes() const { return changes_; }
  // Those changes, moved out (a long batch hands them on as it goes).
  std::vector<engine::AlertChange> TakeChanges() { return std::exchange(changes_, {}); }
  // After Commit: the alerts as the change log holds them (empty without a
  // database).
  const std::vector<v1::AlertChange>& committed_changes() const { return tx_.committed_changes(); }
  // Events evaluated (not rejected) so far.
  uint64_t evaluated() const { return evaluated_; }

  // Commits the batch's state changes. UNAVAILABLE when state could not be read
  // while judging an event, or could not be written: nothing of the batch
  // stands then (in memory or on disk), so a retry is judged as this try was.
  // Call once.
  [[nodiscard]] absl::Status Commit();

 private:
  // Where an event came from, to forward it as it came.
  struct Input {
    const simdjson::dom::element* record = nullptr;
    std::string_view json;
    const v1::CloudTrailEvent* structured = nullptr;
  };
  void AddParsed(simdjson::dom::element record, const Input& input);
  void Add(const engine::Event& event, const Input& input);
  // True when the event is another replica's (rejected, or forwarded).
  bool Misrouted(const engine::Event& event, const Input& input);

  engine::Engine& engine_;
  storage::Transaction tx_;
  const std::string_view tenant_;
  VerdictSink& sink_;
  const engine::EventTime now_;
  DriftGate* gate_ = nullptr;
  int lane_ = -1;
  const engine::ShardRing* ring_ = nullptr;
  std::string_view self_;
  bool forward_ = false;
  uint64_t evaluated_ = 0;
  absl::Status storage_;  // the first failed state read
  std::vector<engine::AlertChange> changes_;
};

}  // namespace trailsentry::pipeline

#endif  // TRAILSENTRY_SERVER_PIPELINE_EVALUATION_BATCH_H_
