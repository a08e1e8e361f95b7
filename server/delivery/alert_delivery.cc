#include "server/delivery/alert_delivery.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace trailsentry::delivery {

absl::StatusOr<std::unique_ptr<AlertDelivery>> AlertDelivery::Start(
    storage::Database* db, const engine::AlertsConfig& config) {
  std::unique_ptr<AlertDelivery> d(new AlertDelivery(db, config));
  for (const engine::WebhookConfig& w : config.webhooks) {
    absl::StatusOr<std::unique_ptr<WebhookSink>> sink = WebhookSink::Start(db, w);
    if (!sink.ok()) return sink.status();
    d->sinks_.push_back(*std::move(sink));
  }
  d->pruner_ = std::thread([p = d.get()] { p->PruneLoop(); });
  return d;
}

AlertDelivery::~AlertDelivery() {
  {
    engine::MutexLock lock(&mu_);
    stop_ = true;
    mu_.NotifyAll();
  }
  if (pruner_.joinable()) pruner_.join();
  sinks_.clear();
}

void AlertDelivery::PruneLoop() {
  for (;;) {
    absl::StatusOr<int64_t> pruned =
        db_->PruneChanges(absl::ToUnixMillis(absl::Now()), config_.change_retention);
    if (!pruned.ok()) {
      spdlog::warn("pruning the alert change log: {}", std::string(pruned.status().message()));
    } else if (*pruned > 0) {
      spdlog::info("pruned {} alert changes older than {} from the change log", *pruned,
                   absl::FormatDuration(config_.change_retention));
    }
    engine::MutexLock lock(&mu_);
    if (mu_.AwaitFor([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; },
                     std::chrono::minutes(1))) {
      return;
    }
  }
}

std::vector<std::pair<std::string, double>> AlertDelivery::Gauges() const {
  std::vector<std::pair<std::string, double>> out;
  const int64_t last = db_->change_range().last;
  out.emplace_back("trailsentry_alert_change_sequence", static_cast<double>(last));
  for (const std::unique_ptr<WebhookSink>& sink : sinks_) {
    const WebhookSink::Stats s = sink->stats();
    const std::string label = absl::StrCat("{sink=\"", sink->name(), "\"}");
    out.emplace_back(absl::StrCat("trailsentry_webhook_queue_depth", label),
                     static_cast<double>(std::max<int64_t>(0, last - s.cursor)));
    out.emplace_back(absl::StrCat("trailsentry_webhook_delivered_total", label),
                     static_cast<double>(s.delivered));
    out.emplace_back(absl::StrCat("trailsentry_webhook_retried_total", label),
                     static_cast<double>(s.retried));
    out.emplace_back(absl::StrCat("trailsentry_webhook_dropped_total", label),
                     static_cast<double>(s.dropped));
  }
  return out;
}

}  // namespace trailsentry::delivery
