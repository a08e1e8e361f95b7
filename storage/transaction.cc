#include "storage/transaction.h"

#include "absl/strings/str_cat.h"

namespace trailsentry::storage {

Transaction::Transaction(engine::Engine& engine, Database* db) : engine_(engine), db_(db) {
  if (db_ == nullptr) return;
  batch_ = std::make_unique<StateBatch>(*db_);
  engine_.BeginBatch(*batch_);
}

Transaction::~Transaction() {
  if (batch_ != nullptr && !ended_) engine_.EndBatch(*batch_, /*committed=*/false);
}

absl::Status Transaction::Commit() {
  if (batch_ == nullptr || ended_) return absl::OkStatus();
  ended_ = true;
  if (!engine_.AwaitCommitTurn(*batch_)) {
    engine_.EndBatch(*batch_, /*committed=*/false);
    // The earlier failure's cause, when it lasts (a full disk): what to fix.
    const absl::Status cause = db_->Healthy();
    return absl::UnavailableError(
        absl::StrCat("an earlier batch failed to commit",
                     cause.ok() ? "" : absl::StrCat(" (", cause.message(), ")"),
                     " and this one may have seen its changes; retry"));
  }
  absl::Status s = db_->Commit(*batch_);
  engine_.EndBatch(*batch_, s.ok());
  if (!s.ok()) return absl::UnavailableError(s.message());
  return absl::OkStatus();
}

}  // namespace trailsentry::storage
