// WebhookSink: delivers the change log to one webhook (server.alerts.webhooks),
// on a thread of its own. Each change (AlertChange JSON) is POSTed in log order,
// signed with HMAC-SHA256 over the body, and retried with exponential backoff
// until the receiver answers 2xx; only then does the sink's cursor, kept in the
// database, move past it. So a receiver that is down or slow, or a server killed
// with kill -9, loses nothing: each change arrives at least once, in order
// (X-Trailsentry-Sequence lets the receiver drop repeats). A change older than
// server.alerts.change_retention is dropped from the log, delivered or not; the
// sink counts it as dropped and logs it.
//
// Evaluate never waits for a sink: it only writes the log.
//
//   auto sink = WebhookSink::Start(db, webhook_config, retention).value();
//   WebhookSink::Stats s = sink->stats();
#ifndef TRAILSENTRY_SERVER_DELIVERY_WEBHOOK_SINK_H_
#define TRAILSENTRY_SERVER_DELIVERY_WEBHOOK_SINK_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/statusor.h"
#include "server/engine/config.h"
#include "server/engine/mutex.h"
#include "storage/database.h"
#include "trailsentry/v1/alert.pb.h"

namespace trailsentry::delivery {

// "sha256=" + lowercase hex of HMAC-SHA256(key, body): X-Trailsentry-Signature.
std::string SignBody(std::string_view key, std::string_view body);

class WebhookSink {
 public:
  // Reads the secret, and the sink's cursor (a sink new to this data directory
  // starts at the end of the log: it gets the changes from now on).
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<WebhookSink>> Start(
      storage::Database* db, const engine::WebhookConfig& config);
  ~WebhookSink();  // stops after the attempt in progress
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  struct Stats {
    int64_t cursor = 0;      // the last sequence delivered (or skipped: other tenant, dropped)
    uint64_t delivered = 0;  // changes the receiver took
    uint64_t retried = 0;    // failed attempts (each is retried)
    uint64_t dropped = 0;    // changes pruned from the log before delivery
  };
  Stats stats() const;
  const std::string& name() const { return config_.name; }

 private:
  WebhookSink(storage::Database* db, engine::WebhookConfig config, std::string secret,
              int64_t cursor);
  void Run();
  // One POST; OK on 2xx, else why not.
  absl::Status Post(const v1::AlertChange& change);
  // Waits up to `d`, or until stopped, or (`until_change`) until a commit
  // logged a change; false when stopped.
  bool Sleep(absl::Duration d, bool until_change);
  void Advance(int64_t sequence);

  storage::Database* const db_;
  const engine::WebhookConfig config_;
  const std::string secret_;
  std::string scheme_host_port_, path_;
  std::atomic<int64_t> cursor_;
  std::atomic<uint64_t> delivered_{0}, retried_{0}, dropped_{0};
  engine::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool changed_ ABSL_GUARDED_BY(mu_) = false;  // a commit logged changes since the last look
  std::thread thread_;
};

}  // namespace trailsentry::delivery

#endif  // TRAILSENTRY_SERVER_DELIVERY_WEBHOOK_SINK_H_
