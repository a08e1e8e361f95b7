// AlertWatch: one WatchAlerts call. Sends the caller's tenant's alert changes
// from the change log after its cursor, in order, then each new one as it is
// committed (woken by the database's change listener), until the caller
// cancels or the server drains (UNAVAILABLE: the caller resumes from the last
// sequence it handled, on this server after a restart or on another replica).
//
// Owned by a shared_ptr of its own, released in OnDone, so a wake-up from a
// commit thread racing with the call's end never touches a deleted reactor.
//
//   return AlertWatch::Start(db, tenant, request, watches, auth_status);
#ifndef TRAILSENTRY_SERVER_SERVICE_ALERT_WATCH_H_
#define TRAILSENTRY_SERVER_SERVICE_ALERT_WATCH_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "server/engine/mutex.h"
#include "storage/database.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry::service {

class AlertWatch;

// The open WatchAlerts calls, so a drain can end them.
class AlertWatches {
 public:
  // False once draining: the call is refused.
  bool Add(const std::shared_ptr<AlertWatch>& watch);
  void Remove(const AlertWatch* watch);
  // Ends every open call with UNAVAILABLE, and refuses new ones.
  void Drain();

 private:
  engine::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<const AlertWatch*, std::weak_ptr<AlertWatch>> open_ ABSL_GUARDED_BY(mu_);
};

class AlertWatch final : public grpc::ServerWriteReactor<v1::AlertChange> {
 public:
  static grpc::ServerWriteReactor<v1::AlertChange>* Start(storage::Database* db, std::string tenant,
                                                          const v1::WatchAlertsRequest& request,
                                                          AlertWatches& watches,
                                                          const absl::Status& auth);
  ~AlertWatch() override;

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;
  // Ends the call with `status` once no write is in flight.
  void Stop(grpc::Status status);

 private:
  AlertWatch(storage::Database* db, std::string tenant, int64_t cursor, AlertWatches& watches);
  // Writes the next change if none is in flight, reading the log when the
  // queue is empty; with nothing to send, waits for the next wake-up.
  void Pump();
  // Outside mu_ (a reaction may run inline when called from a thread of ours).
  void FinishOnce(grpc::Status status);

  storage::Database* const db_;
  const std::string tenant_;
  AlertWatches& watches_;
  std::shared_ptr<AlertWatch> self_;  // released in OnDone
  int listener_ = -1;
  engine::Mutex mu_;
  int64_t cursor_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::AlertChange> queue_ ABSL_GUARDED_BY(mu_);
  v1::AlertChange current_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<grpc::Status> stop_ ABSL_GUARDED_BY(mu_);
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_ALERT_WATCH_H_
