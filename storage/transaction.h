// Transaction: one batch of state changes through the engine into the database,
// following the engine's batch protocol (BeginBatch, AwaitCommitTurn, Commit,
// EndBatch) so no caller can get it wrong. A transaction that is not committed
// (destroyed first, or failing) leaves nothing of itself in memory or on disk:
// the engine drops its cache and reads back what disk holds.
//
//   storage::Transaction tx(engine, db);   // db may be null: nothing is stored
//   engine.Evaluate(tenant, event, changes, tx.writer());
//   absl::Status s = tx.Commit();          // UNAVAILABLE: retry the whole batch
#ifndef TRAILSENTRY_STORAGE_TRANSACTION_H_
#define TRAILSENTRY_STORAGE_TRANSACTION_H_

#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "server/engine/engine.h"
#include "storage/database.h"

namespace trailsentry::storage {

class Transaction {
 public:
  Transaction(engine::Engine& engine, Database* db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  // Where the engine writes this batch's changes; null without a database,
  // and once committed.
  engine::StateWriter* writer() { return batch_.get(); }

  // Waits until every earlier batch has ended, then commits. UNAVAILABLE when an
  // earlier batch failed (this one may have seen its changes) or the write
  // failed; either way nothing of this batch stands. Call once.
  [[nodiscard]] absl::Status Commit();
  // After Commit: each alert written, as the change log holds it.
  const std::vector<v1::AlertChange>& committed_changes() const { return committed_; }

 private:
  // Ends the engine's batch with `committed` and gives the batch back.
  void End(const absl::Status& committed);

  engine::Engine& engine_;
  Database* const db_;
  // Taken from the database's pool; given back when the transaction ends.
  std::unique_ptr<StateBatch> batch_;
  std::vector<v1::AlertChange> committed_;
  bool ended_ = false;
};

}  // namespace trailsentry::storage

#endif  // TRAILSENTRY_STORAGE_TRANSACTION_H_
