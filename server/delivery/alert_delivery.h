// AlertDelivery: what trailsentryd runs beside the API for alert push
// (server.alerts): a WebhookSink per configured webhook, and the change log's
// pruning (changes older than change_retention, checked every minute).
//
//   auto delivery = AlertDelivery::Start(db, config.server.alerts).value();
//   gauges = delivery->Gauges();   // for /metrics
#ifndef TRAILSENTRY_SERVER_DELIVERY_ALERT_DELIVERY_H_
#define TRAILSENTRY_SERVER_DELIVERY_ALERT_DELIVERY_H_

#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/delivery/webhook_sink.h"
#include "server/engine/config.h"
#include "server/engine/mutex.h"
#include "storage/database.h"

namespace trailsentry::delivery {

class AlertDelivery {
 public:
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<AlertDelivery>> Start(
      storage::Database* db, const engine::AlertsConfig& config);
  ~AlertDelivery();
  AlertDelivery(const AlertDelivery&) = delete;
  AlertDelivery& operator=(const AlertDelivery&) = delete;

  // Prometheus samples: the change log's last sequence, and per webhook its
  // queue depth (changes after its cursor), delivered, retried and dropped.
  std::vector<std::pair<std::string, double>> Gauges() const;

 private:
  AlertDelivery(storage::Database* db, const engine::AlertsConfig& config)
      : db_(db), config_(config) {}
  void PruneLoop();

  storage::Database* const db_;
  const engine::AlertsConfig config_;
  std::vector<std::unique_ptr<WebhookSink>> sinks_;
  engine::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread pruner_;
};

}  // namespace trailsentry::delivery

#endif  // TRAILSENTRY_SERVER_DELIVERY_ALERT_DELIVERY_H_
