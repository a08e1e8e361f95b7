#include "server/service/request_evaluator.h"

#include <simdjson.h>

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/engine/alert_proto.h"
#include "server/engine/record_parser.h"
#include "server/engine/record_reader.h"
#include "storage/transaction.h"

namespace trailsentry::service {
namespace {

using engine::AlertChange;
using engine::Event;
using engine::RecordError;

// Per-thread parsing buffers, reused across requests.
struct ParseBuffers {
  simdjson::dom::parser parser;
  std::string padded;
  engine::RecordReader reader;
};

ParseBuffers& Buffers() {
  thread_local ParseBuffers buffers;
  return buffers;
}

std::optional<RecordError> FromStructured(const v1::CloudTrailEvent& s, Event& ev) {
  ev = Event{};
  if (s.event_name().empty()) return RecordError{"structured.event_name", "missing"};
  if (s.event_source().empty()) return RecordError{"structured.event_source", "missing"};
  if (!s.has_event_time()) return RecordError{"structured.event_time", "missing"};
  const auto& ts = s.event_time();
  if (ts.seconds() < 0 || ts.seconds() > 253402300799 || ts.nanos() < 0 || ts.nanos() > 999999999) {
    return RecordError{"structured.event_time", "out of range (1970..9999)"};
  }
  for (const auto& [value, field] : {std::pair{&s.event_name(), "structured.event_name"},
                                     std::pair{&s.event_source(), "structured.event_source"}}) {
    if (value->size() > engine::kMaxNameBytes) {
      return RecordError{field, absl::StrCat("longer than ", engine::kMaxNameBytes, " bytes")};
    }
  }
  ev.time = ts.seconds() * engine::kMillisPerSecond + ts.nanos() / 1000000;
  ev.event_source = s.event_source();
  ev.event_name = s.event_name();
  ev.event_id = s.event_id();
  ev.source_ip = s.source_ip_address();
  ev.user_agent = s.user_agent();
  ev.error_code = s.error_code();
  ev.aws_region = s.aws_region();
  ev.recipient_account_id = s.recipient_account_id();
  const v1::UserIdentity& u = s.user_identity();
  ev.identity_type = u.type();
  ev.arn = u.arn();
  ev.principal_id = u.principal_id();
  ev.account_id = u.account_id();
  ev.access_key_id = u.access_key_id();
  ev.user_name = u.user_name();
  ev.issuer_user_name = u.session_issuer_user_name();
  ev.issuer_arn = u.session_issuer_arn();
  ev.console_session = s.session_credential_from_console();
  return std::nullopt;
}

class ResponseBuilder {
 public:
  ResponseBuilder(engine::Engine& engine, engine::StateWriter* writer, std::string_view tenant,
                  v1::EvaluateResponse* response)
      : engine_(engine),
        writer_(writer),
        tenant_(tenant),
        response_(response),
        now_(absl::ToUnixMillis(absl::Now())) {}

  const absl::Status& storage_status() const { return storage_; }

  void Reject(const RecordError& err) {
    v1::Verdict* v = response_->add_verdicts();
    v->set_status(v1::Verdict::REJECTED);
    v->set_reject_field(err.field);
    v->set_reject_reason(absl::StrCat(err.field, ": ", err.reason));
    response_->set_rejected(response_->rejected() + 1);
  }

  void Accept(const Event& ev) {
    if (auto err = engine::CheckNotInFuture(ev.time, now_)) return Reject(*err);
    engine::Verdict verdict = engine_.Evaluate(tenant_, ev, changes_, writer_);
    if (!verdict.storage.ok() && storage_.ok()) storage_ = verdict.storage;
    engine::ToProto(verdict, ev.event_id, response_->add_verdicts());
    response_->set_accepted(response_->accepted() + 1);
  }

  void Record(simdjson::dom::element record) {
    Event ev;
    if (auto err = engine::ParseRecord(record, ev)) return Reject(*err);
    Accept(ev);
  }

  // Each alert once, in its final state; NEW if this request opened it.
  void Finish() {
    absl::flat_hash_map<std::string, size_t> index;
    std::vector<std::pair<bool, const engine::Alert*>> order;
    for (const AlertChange& c : changes_) {
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
      engine::ToProto(*alert, out->mutable_alert());
    }
  }

 private:
  engine::Engine& engine_;
  engine::StateWriter* writer_;
  absl::Status storage_;
  std::string_view tenant_;
  v1::EvaluateResponse* response_;
  const engine::EventTime now_;
  std::vector<AlertChange> changes_;
};

}  // namespace

absl::Status RequestEvaluator::Evaluate(std::string_view tenant, const v1::EvaluateRequest& request,
                                        v1::EvaluateResponse* response) {
  if (request.events_size() > max_events_) {
    return absl::InvalidArgumentError(absl::StrCat("request holds ", request.events_size(),
                                                   " events; max_events_per_request is ",
                                                   max_events_));
  }
  ParseBuffers& buf = Buffers();
  storage::Transaction tx(engine_, db_);
  ResponseBuilder builder(engine_, tx.writer(), tenant, response);
  for (const v1::Event& event : request.events()) {
    switch (event.body_case()) {
      case v1::Event::kRawJson: {
        const std::string& raw = event.raw_json();
        buf.padded.reserve(raw.size() + simdjson::SIMDJSON_PADDING);
        buf.padded.assign(raw);
        simdjson::dom::element doc;
        if (auto error = buf.parser.parse(buf.padded.data(), buf.padded.size(), false).get(doc)) {
          builder.Reject(
              {"raw_json", absl::StrCat("invalid JSON: ", simdjson::error_message(error))});
          break;
        }
        builder.Record(engine::UnwrapEventBridge(doc));
        break;
      }
      case v1::Event::kStructured: {
        Event ev;
        if (auto err = FromStructured(event.structured(), ev)) {
          builder.Reject(*err);
        } else {
          builder.Accept(ev);
        }
        break;
      }
      case v1::Event::BODY_NOT_SET:
        builder.Reject({"event", "neither raw_json nor structured is set"});
        break;
    }
  }
  if (!request.payload().empty()) {
    int payload_records = 0;
    absl::Status read =
        buf.reader.Read(request.payload(), [&](size_t, const engine::RecordOrError& r) {
          if (++payload_records + request.events_size() > max_events_) {
            builder.Reject({"payload", absl::StrCat("record beyond max_events_per_request (",
                                                    max_events_, "): not evaluated")});
          } else if (r.error != nullptr) {
            builder.Reject(*r.error);
          } else {
            builder.Record(r.record);
          }
        });
    if (!read.ok()) builder.Reject({"payload", std::string(read.message())});
  }
  builder.Finish();
  // A failed read means some event was judged on incomplete state: nothing of
  // the request may stand (the transaction ends uncommitted), so its retry is
  // judged afresh.
  if (!builder.storage_status().ok()) {
    return absl::UnavailableError(
        absl::StrCat("reading state: ", builder.storage_status().message()));
  }
  return tx.Commit();
}

}  // namespace trailsentry::service
