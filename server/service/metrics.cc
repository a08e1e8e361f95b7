#include "server/service/metrics.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert.h"

namespace trailsentry::service {

Metrics::Histogram& Metrics::HistogramFor(std::string_view api, std::string_view method) {
  const std::string key = absl::StrCat(AbslView(api), "\t", AbslView(method));
  engine::MutexLock lock(&mu_);
  auto& slot = histograms_[key];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

void Metrics::RecordRequest(std::string_view api, std::string_view method, double seconds,
                            bool ok) {
  Histogram& h = HistogramFor(api, method);
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) h.buckets[i].fetch_add(1, std::memory_order_relaxed);
  }
  h.count.fetch_add(1, std::memory_order_relaxed);
  if (!ok) h.errors.fetch_add(1, std::memory_order_relaxed);
  h.sum_micros.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Metrics::RecordEvaluation(const v1::EvaluateResponse& r, const VerdictFlagCounts& flags) {
  accepted_.fetch_add(static_cast<uint64_t>(r.accepted()), std::memory_order_relaxed);
  rejected_.fetch_add(static_cast<uint64_t>(r.rejected()), std::memory_order_relaxed);
  for (size_t flag = 1; flag < flags.size(); ++flag) {
    if (flags[flag] != 0) flags_[flag].fetch_add(flags[flag], std::memory_order_relaxed);
  }
  for (const v1::AlertChange& c : r.alerts()) {
    const bool burst = c.alert().rule_id() == engine::kBurstRuleId;
    const bool is_new = c.kind() == v1::AlertChange::NEW;
    (burst ? (is_new ? burst_new_ : burst_updated_) : (is_new ? unusual_new_ : unusual_updated_))
        .fetch_add(1, std::memory_order_relaxed);
  }
}

std::string Metrics::Render(const std::vector<std::pair<std::string, double>>& gauges) const {
  std::string out;
  absl::StrAppend(&out,
                  "# HELP trailsentry_events_total Events evaluated, by verdict.\n"
                  "# TYPE trailsentry_events_total counter\n",
                  "trailsentry_events_total{verdict=\"accepted\"} ", accepted_.load(), "\n",
                  "trailsentry_events_total{verdict=\"rejected\"} ", rejected_.load(), "\n");
  absl::StrAppend(
      &out,
      "# HELP trailsentry_event_flags_total Accepted events carrying each verdict flag.\n"
      "# TYPE trailsentry_event_flags_total counter\n");
  for (int flag = v1::DISCOVERY; flag <= v1::DUPLICATE; ++flag) {
    std::string name = v1::VerdictFlag_Name(static_cast<v1::VerdictFlag>(flag));
    absl::StrAppend(&out, "trailsentry_event_flags_total{flag=\"", name, "\"} ",
                    flags_[static_cast<size_t>(flag)].load(), "\n");
  }
  absl::StrAppend(
      &out,
      "# HELP trailsentry_alerts_total Alerts opened (new) and updated, by rule.\n"
      "# TYPE trailsentry_alerts_total counter\n",
      "trailsentry_alerts_total{rule=\"aws-discovery-cli-burst\",kind=\"new\"} ", burst_new_.load(),
      "\n", "trailsentry_alerts_total{rule=\"aws-discovery-cli-burst\",kind=\"updated\"} ",
      burst_updated_.load(), "\n",
      "trailsentry_alerts_total{rule=\"aws-discovery-unusual-source-ip\",kind=\"new\"} ",
      unusual_new_.load(), "\n",
      "trailsentry_alerts_total{rule=\"aws-discovery-unusual-source-ip\",kind=\"updated\"} ",
      unusual_updated_.load(), "\n");
  absl::StrAppend(&out,
                  "# HELP trailsentry_in_flight_requests Requests being served now.\n"
                  "# TYPE trailsentry_in_flight_requests gauge\n"
                  "trailsentry_in_flight_requests ",
                  in_flight_.load(), "\n");
  absl::StrAppend(
      &out,
      "# HELP trailsentry_request_duration_seconds Request latency, by API and method.\n"
      "# TYPE trailsentry_request_duration_seconds histogram\n");
  engine::MutexLock lock(&mu_);
  for (const auto& [key, h] : histograms_) {
    const size_t tab = key.find('\t');
    const std::string labels =
        absl::StrCat("api=\"", key.substr(0, tab), "\",method=\"", key.substr(tab + 1), "\"");
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      absl::StrAppend(&out, "trailsentry_request_duration_seconds_bucket{", labels, ",le=\"",
                      absl::StrFormat("%g", kBuckets[i]), "\"} ", h->buckets[i].load(), "\n");
    }
    absl::StrAppend(&out, "trailsentry_request_duration_seconds_bucket{", labels, ",le=\"+Inf\"} ",
                    h->count.load(), "\n", "trailsentry_request_duration_seconds_sum{", labels,
                    "} ", absl::StrFormat("%.6f", static_cast<double>(h->sum_micros.load()) / 1e6),
                    "\n", "trailsentry_request_duration_seconds_count{", labels, "} ",
                    h->count.load(), "\n");
  }
  absl::StrAppend(
      &out,
      "# HELP trailsentry_request_errors_total Requests that failed, by API and method.\n"
      "# TYPE trailsentry_request_errors_total counter\n");
  for (const auto& [key, h] : histograms_) {
    const size_t tab = key.find('\t');
    absl::StrAppend(&out, "trailsentry_request_errors_total{api=\"", key.substr(0, tab),
                    "\",method=\"", key.substr(tab + 1), "\"} ", h->errors.load(), "\n");
  }
  // A name may carry labels (`x_total{sink="a"}`): one TYPE line per metric.
  std::string last_type;
  for (const auto& [name, value] : gauges) {
    std::string metric = name.substr(0, name.find('{'));
    if (metric != last_type) absl::StrAppend(&out, "# TYPE ", metric, " gauge\n");
    last_type = std::move(metric);
    absl::StrAppend(&out, name, " ", absl::StrFormat("%.17g", value), "\n");
  }
  return out;
}

}  // namespace trailsentry::service
