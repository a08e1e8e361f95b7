#include "server/service/alert_watch.h"

#include "absl/strings/str_cat.h"
#include "trailsentry/grpc_status.h"

namespace trailsentry::service {
namespace {

// Changes read from the log at a time.
constexpr size_t kReadAhead = 256;

grpc::Status Draining() {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      "the server is shutting down; watch again from the last sequence handled");
}

// The sequence to read after, or why the request cannot be served.
absl::StatusOr<int64_t> StartCursor(storage::Database* db, const v1::WatchAlertsRequest& request) {
  if (db == nullptr) return absl::FailedPreconditionError("no data directory: no change log");
  const storage::ChangeRange range = db->change_range();
  if (request.from_now()) return range.last;
  const int64_t after = request.after_sequence();
  if (after < 0) return absl::InvalidArgumentError("after_sequence: negative");
  if (after > range.last) {
    return absl::OutOfRangeError(
        absl::StrCat("after_sequence: ", after, " is past the newest change, ", range.last,
                     " (a cursor from another server or data directory?); watch with from_now"));
  }
  if (after > 0 && after + 1 < range.first) {
    return absl::OutOfRangeError(absl::StrCat(
        "after_sequence: changes ", after + 1, " to ", range.first - 1,
        " are no longer in the change log (server.alerts.change_retention); catch up with "
        "ListAlerts, then watch with from_now"));
  }
  return after;
}

}  // namespace

bool AlertWatches::Add(const std::shared_ptr<AlertWatch>& watch) {
  engine::MutexLock lock(&mu_);
  if (draining_) return false;
  open_.emplace(watch.get(), watch);
  return true;
}

void AlertWatches::Remove(const AlertWatch* watch) {
  engine::MutexLock lock(&mu_);
  open_.erase(watch);
}

void AlertWatches::Drain() {
  std::vector<std::shared_ptr<AlertWatch>> open;
  {
    engine::MutexLock lock(&mu_);
    draining_ = true;
    for (const auto& [ptr, weak] : open_) {
      if (std::shared_ptr<AlertWatch> w = weak.lock()) open.push_back(std::move(w));
    }
  }
  for (const std::shared_ptr<AlertWatch>& w : open) w->Stop(Draining());
}

grpc::ServerWriteReactor<v1::AlertChange>* AlertWatch::Start(storage::Database* db,
                                                             std::string tenant,
                                                             const v1::WatchAlertsRequest& request,
                                                             AlertWatches& watches,
                                                             const absl::Status& auth) {
  absl::StatusOr<int64_t> cursor =
      auth.ok() ? StartCursor(db, request) : absl::StatusOr<int64_t>(auth);
  std::shared_ptr<AlertWatch> watch(
      new AlertWatch(db, std::move(tenant), cursor.ok() ? *cursor : 0, watches));
  watch->self_ = watch;
  if (!cursor.ok()) {
    watch->FinishOnce(ToGrpcStatus(cursor.status()));
    return watch.get();
  }
  if (!watches.Add(watch)) {
    watch->FinishOnce(Draining());
    return watch.get();
  }
  std::weak_ptr<AlertWatch> weak = watch;
  watch->listener_ = db->AddChangeListener([weak](int64_t) {
    if (std::shared_ptr<AlertWatch> w = weak.lock()) w->Pump();
  });
  watch->Pump();
  return watch.get();
}

AlertWatch::AlertWatch(storage::Database* db, std::string tenant, int64_t cursor,
                       AlertWatches& watches)
    : db_(db), tenant_(std::move(tenant)), watches_(watches), cursor_(cursor) {}

AlertWatch::~AlertWatch() {
  if (listener_ >= 0) db_->RemoveChangeListener(listener_);
}

void AlertWatch::Pump() {
  std::optional<grpc::Status> finish;
  const v1::AlertChange* next = nullptr;
  {
    engine::MutexLock lock(&mu_);
    if (finished_ || writing_) return;
    if (stop_) {
      finished_ = true;
      finish = *stop_;
    } else {
      if (queue_.empty()) {
        int64_t scanned = cursor_;
        absl::StatusOr<std::vector<v1::AlertChange>> changes =
            db_->ReadChanges(cursor_, kReadAhead, tenant_, &scanned);
        if (!changes.ok()) {
          finished_ = true;
          finish = ToGrpcStatus(changes.status());
        } else {
          cursor_ = scanned;
          for (v1::AlertChange& c : *changes) queue_.push_back(std::move(c));
        }
      }
      if (!finish && !queue_.empty()) {
        current_ = std::move(queue_.front());
        queue_.pop_front();
        writing_ = true;
        next = &current_;
      }
    }
  }
  if (finish) {
    Finish(*std::move(finish));
  } else if (next != nullptr) {
    StartWrite(next);
  }
}

void AlertWatch::OnWriteDone(bool ok) {
  {
    engine::MutexLock lock(&mu_);
    writing_ = false;
    if (!ok && !finished_) {
      finished_ = true;
      // The client is gone; the status reaches no one.
      queue_.clear();
    } else {
      ok = true;
    }
  }
  if (!ok) {
    Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write failed"));
    return;
  }
  Pump();
}

void AlertWatch::OnCancel() { Stop(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

void AlertWatch::Stop(grpc::Status status) {
  {
    engine::MutexLock lock(&mu_);
    if (finished_) return;
    if (writing_) {  // OnWriteDone's Pump finishes it
      stop_ = std::move(status);
      return;
    }
    finished_ = true;
  }
  Finish(std::move(status));
}

void AlertWatch::FinishOnce(grpc::Status status) {
  {
    engine::MutexLock lock(&mu_);
    if (finished_) return;
    finished_ = true;
  }
  Finish(std::move(status));
}

void AlertWatch::OnDone() {
  watches_.Remove(this);
  self_.reset();  // deletes this unless a wake-up still holds it
}

}  // namespace trailsentry::service
