#include "storage/transaction.h"

#include "absl/strings/str_cat.h"

namespace trailsentry::storage {

Transaction::Transaction(engine::Engine& engine, Database* db) : engine_(engine), db_(db) {
  if (db_ == nullptr) return;
  batch_ = std::make_unique<StateBatch>(*db_);
  engine_.BeginBatch(*batch_);
}

Transaction::~Transaction() {
  if (batch_ != nullptr && !ended_) {
    engine_.EndBatch(*batch_, absl::AbortedError("it was abandoned uncommitted"));
  }
}

absl::Status Transaction::Commit() {
  if (batch_ == nullptr || ended_) return absl::OkStatus();
  ended_ = true;
  if (absl::Status earlier = engine_.AwaitCommitTurn(*batch_); !earlier.ok()) {
    engine_.EndBatch(*batch_, earlier);
    return absl::UnavailableError(absl::StrCat("an earlier batch failed to commit (",
                                               earlier.message(),
                                               ") and this one may have seen its changes; retry"));
  }
  absl::Status s = db_->Commit(*batch_);
  engine_.EndBatch(*batch_, s);
  if (!s.ok()) return absl::UnavailableError(s.message());
  return absl::OkStatus();
}

const std::vector<v1::AlertChange>& Transaction::committed_changes() const {
  static const std::vector<v1::AlertChange> kNone;
  return batch_ == nullptr ? kNone : batch_->committed_changes();
}

}  // namespace trailsentry::storage
