#include "storage/transaction.h"

#include "absl/strings/str_cat.h"

namespace trailsentry::storage {

Transaction::Transaction(engine::Engine& engine, Database* db) : engine_(engine), db_(db) {
  if (db_ == nullptr) return;
  batch_ = db_->TakeBatch();
  engine_.BeginBatch(*batch_);
}

Transaction::~Transaction() {
  if (batch_ != nullptr && !ended_) End(absl::AbortedError("it was abandoned uncommitted"));
}

void Transaction::End(const absl::Status& committed) {
  ended_ = true;
  engine_.EndBatch(*batch_, committed);
  // The batch goes back now, so a transaction that outlives its database
  // (kept after the commit) never touches it again.
  db_->GiveBackBatch(std::move(batch_));
}

absl::Status Transaction::Commit() {
  if (batch_ == nullptr || ended_) return absl::OkStatus();
  if (absl::Status earlier = engine_.AwaitCommitTurn(*batch_); !earlier.ok()) {
    End(earlier);
    return absl::UnavailableError(absl::StrCat("an earlier batch failed to commit (",
                                               earlier.message(),
                                               ") and this one may have seen its changes; retry"));
  }
  absl::Status s = db_->Commit(*batch_);
  committed_.swap(batch_->committed_);
  End(s);
  if (!s.ok()) return absl::UnavailableError(s.message());
  return absl::OkStatus();
}

}  // namespace trailsentry::storage
