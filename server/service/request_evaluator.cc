#include "server/service/request_evaluator.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/engine/alert_proto.h"
#include "server/engine/printable.h"
#include "server/engine/record_parser.h"
#include "server/engine/record_reader.h"
#include "server/pipeline/evaluation_batch.h"

namespace trailsentry::service {
namespace {

using engine::AlertChange;
using engine::RecordError;

// Per-thread payload reader, reused across requests.
engine::RecordReader& Reader() {
  thread_local engine::RecordReader reader;
  return reader;
}

// Buffers grown past this by one large request are freed after it.
constexpr size_t kKeepBufferBytes = size_t{32} << 20;

// Verdicts into the response, in request order, each naming its event's place
// in the request (`index`); with `all` false only rejected events get one
// (accepted ones are counted).
class ResponseSink : public pipeline::VerdictSink {
 public:
  ResponseSink(v1::EvaluateResponse* response, std::vector<ForwardedEvent>* forwarded, bool all,
               VerdictFlagCounts* flags)
      : response_(response), forwarded_(forwarded), all_(all), flags_(flags) {}

  void Rejected(const RecordError& err) override {
    v1::Verdict* v = AddVerdict();
    v->set_status(v1::Verdict::REJECTED);
    // Reasons may quote the input: escaped, so the reply is valid UTF-8.
    v->set_reject_field(engine::Printable(err.field));
    v->set_reject_reason(engine::Printable(absl::StrCat(err.field, ": ", err.reason)));
    response_->set_rejected(response_->rejected() + 1);
  }

  void Evaluated(const engine::Event& ev, const engine::Verdict& verdict) override {
    for (size_t flag = 1; flag < flags_->size(); ++flag) {
      if (verdict.flags & (1u << flag)) ++(*flags_)[flag];
    }
    response_->set_accepted(response_->accepted() + 1);
    if (all_) {
      engine::ToProto(verdict, ev.event_id, AddVerdict());
    } else {
      ++next_index_;
    }
  }

  // Only with `all`: the empty verdict's place is the event's.
  void Forward(std::string_view account, std::string_view owner, v1::Event&& event) override {
    forwarded_->push_back(ForwardedEvent{.index = response_->verdicts_size(),
                                         .account = std::string(account),
                                         .owner = std::string(owner),
                                         .event = std::move(event)});
    AddVerdict();
  }

  // Each alert once, in its final state; NEW if this request opened it. With a
  // database, as the change log holds it (triage, sequence, link).
  void AddAlerts(const std::vector<AlertChange>& changes,
                 const std::vector<v1::AlertChange>& committed) {
    absl::flat_hash_map<std::string_view, const v1::AlertChange*> logged;
    for (const v1::AlertChange& c : committed) logged.emplace(c.alert().alert_id(), &c);
    absl::flat_hash_map<std::string, size_t> index;
    std::vector<std::pair<bool, const engine::Alert*>> order;
    for (const AlertChange& c : changes) {
      auto [it, inserted] = index.emplace(c.alert.alert_id, order.size());
      if (inserted) {
        order.emplace_back(c.is_new, &c.alert);
      } else {
        order[it->second].first |= c.is_new;
        order[it->second].second = &c.alert;
      }
    }
    for (const auto& [is_new, alert] : order) {
      v1::AlertChange* out = response_->add_alerts();
      out->set_kind(is_new ? v1::AlertChange::NEW : v1::AlertChange::UPDATED);
      if (auto it = logged.find(alert->alert_id); it != logged.end()) {
        *out->mutable_alert() = it->second->alert();
        out->set_sequence(it->second->sequence());
      } else {
        engine::ToProto(*alert, out->mutable_alert());
      }
    }
  }

 private:
  v1::Verdict* AddVerdict() {
    v1::Verdict* v = response_->add_verdicts();
    v->set_index(next_index_++);
    return v;
  }

  v1::EvaluateResponse* response_;
  std::vector<ForwardedEvent>* forwarded_;
  const bool all_;
  VerdictFlagCounts* flags_;
  int next_index_ = 0;  // the next event's place in the request
};

}  // namespace

absl::Status RequestEvaluator::Evaluate(std::string_view tenant, const v1::EvaluateRequest& request,
                                        v1::EvaluateResponse* response,
                                        std::vector<ForwardedEvent>* forwarded) {
  const int max_events = limits_.max_events_per_request;
  if (request.events_size() > max_events) {
    return absl::InvalidArgumentError(absl::StrCat("request holds ", request.events_size(),
                                                   " events; max_events_per_request is ",
                                                   max_events, "; nothing was evaluated"));
  }
  engine::RecordReader& reader = Reader();
  // A request may not leave its (possibly huge) buffers behind on this thread.
  struct Trim {
    engine::RecordReader& reader;
    ~Trim() { reader.Trim(kKeepBufferBytes); }
  } trim{reader};
  // The payload is inflated and its records counted before anything is
  // evaluated, so a request over a limit fails whole, before touching state.
  bool payload = false;
  absl::Status payload_error;  // a payload that is no container: one REJECTED verdict
  if (!request.payload().empty()) {
    const engine::ReadLimits read_limits{
        .max_inflated_bytes = static_cast<size_t>(limits_.max_inflated_bytes),
        .max_records = static_cast<size_t>(max_events - request.events_size())};
    absl::StatusOr<size_t> records =
        reader.Open(request.payload(),
                    request.payload_format() == v1::PAYLOAD_FORMAT_JSON_LINES
                        ? engine::ContainerHint::kJsonLines
                        : engine::ContainerHint::kUnknown,
                    read_limits);
    if (!records.ok() && records.status().code() == absl::StatusCode::kResourceExhausted) {
      return OverLimit(records.status(), request.events_size());
    }
    if (!records.ok()) {
      payload_error = records.status();
    } else {
      payload = true;
    }
  }
  // Forwarded events' verdicts are put in place by index when their replicas
  // answer: until then every event has its verdict (see KeepRequestedVerdicts).
  const bool all_verdicts =
      request.verdict_detail() != v1::VERDICT_DETAIL_REJECTED || forwarded != nullptr;
  ResponseSink sink(response, forwarded, all_verdicts, &flags_);
  pipeline::EvaluationBatch batch(engine_, db_, tenant, sink, absl::ToUnixMillis(absl::Now()));
  if (!ring_.replicas().empty()) batch.SetShard(&ring_, limits_.shard.self, forwarded != nullptr);
  for (const v1::Event& event : request.events()) {
    switch (event.body_case()) {
      case v1::Event::kRawJson:
        batch.AddJson(event.raw_json());
        break;
      case v1::Event::kStructured:
        batch.AddStructured(event.structured());
        break;
      case v1::Event::BODY_NOT_SET:
        batch.Reject({"event", "neither raw_json nor structured is set"});
        break;
    }
  }
  if (payload) {
    absl::Status read = reader.ForEach([&](size_t, const engine::RecordOrError& r) {
      if (r.error != nullptr) {
        batch.Reject(*r.error);
      } else {
        batch.AddRecord(r.record);
      }
    });
    // JSON lines whose lines are containers can only be counted while read:
    // the batch ends uncommitted, so nothing of the request stands.
    if (read.code() == absl::StatusCode::kResourceExhausted) {
      return OverLimit(read, request.events_size());
    }
    if (!read.ok()) batch.Reject({"payload", std::string(read.message())});
  } else if (!payload_error.ok()) {
    batch.Reject({"payload", std::string(payload_error.message())});
  }
  if (absl::Status s = batch.Commit(); !s.ok()) return s;
  sink.AddAlerts(batch.changes(), batch.committed_changes());
  return absl::OkStatus();
}

void KeepRequestedVerdicts(const v1::EvaluateRequest& request, v1::EvaluateResponse* response) {
  if (request.verdict_detail() != v1::VERDICT_DETAIL_REJECTED) return;
  auto* verdicts = response->mutable_verdicts();
  verdicts->erase(
      std::remove_if(verdicts->begin(), verdicts->end(),
                     [](const v1::Verdict& v) { return v.status() != v1::Verdict::REJECTED; }),
      verdicts->end());
}

absl::Status RequestEvaluator::OverLimit(const absl::Status& read, int events) const {
  return absl::InvalidArgumentError(absl::StrCat(
      "payload: ", read.message(),
      events > 0 ? absl::StrCat(" with the request's ", events, " events") : "",
      " (max_events_per_request ", limits_.max_events_per_request, ", max_inflated_bytes ",
      limits_.max_inflated_bytes, "); nothing was evaluated"));
}

}  // namespace trailsentry::service
