#include "server/service/request_evaluator.h"

#include <simdjson.h>

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/engine/alert_proto.h"
#include "server/engine/printable.h"
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

// Buffers grown past this by one large request are freed after it.
constexpr size_t kKeepBufferBytes = size_t{32} << 20;

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
  // The same limits as a raw record's fields (record_parser.h).
  const v1::UserIdentity& u = s.user_identity();
  const std::pair<const std::string*, const char*> names[] = {
      {&s.event_name(), "structured.event_name"}, {&s.event_source(), "structured.event_source"}};
  const std::pair<const std::string*, const char*> fields[] = {
      {&s.event_id(), "structured.event_id"},
      {&s.source_ip_address(), "structured.source_ip_address"},
      {&s.user_agent(), "structured.user_agent"},
      {&s.error_code(), "structured.error_code"},
      {&s.aws_region(), "structured.aws_region"},
      {&s.recipient_account_id(), "structured.recipient_account_id"},
      {&u.type(), "structured.user_identity.type"},
      {&u.arn(), "structured.user_identity.arn"},
      {&u.principal_id(), "structured.user_identity.principal_id"},
      {&u.account_id(), "structured.user_identity.account_id"},
      {&u.access_key_id(), "structured.user_identity.access_key_id"},
      {&u.user_name(), "structured.user_identity.user_name"},
      {&u.session_issuer_user_name(), "structured.user_identity.session_issuer_user_name"},
      {&u.session_issuer_arn(), "structured.user_identity.session_issuer_arn"}};
  for (const auto& [value, field] : names) {
    if (value->size() > engine::kMaxNameBytes) {
      return RecordError{field, absl::StrCat("longer than ", engine::kMaxNameBytes, " bytes (",
                                             value->size(), ")")};
    }
  }
  for (const auto& [value, field] : fields) {
    if (value->size() > engine::kMaxFieldBytes) {
      return RecordError{field, absl::StrCat("longer than ", engine::kMaxFieldBytes, " bytes (",
                                             value->size(), ")")};
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
    // Reasons may quote the input: escaped, so the reply is valid UTF-8.
    v->set_reject_field(engine::Printable(err.field));
    v->set_reject_reason(engine::Printable(absl::StrCat(err.field, ": ", err.reason)));
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
  const int max_events = limits_.max_events_per_request;
  if (request.events_size() > max_events) {
    return absl::InvalidArgumentError(absl::StrCat("request holds ", request.events_size(),
                                                   " events; max_events_per_request is ",
                                                   max_events, "; nothing was evaluated"));
  }
  ParseBuffers& buf = Buffers();
  // A request may not leave its (possibly huge) buffers behind on this thread.
  struct Trim {
    ParseBuffers& buf;
    ~Trim() {
      buf.reader.Trim(kKeepBufferBytes);
      if (buf.padded.capacity() > kKeepBufferBytes) std::string().swap(buf.padded);
      if (buf.parser.capacity() > kKeepBufferBytes) buf.parser = simdjson::dom::parser();
    }
  } trim{buf};
  // The payload is inflated and its records counted before anything is
  // evaluated, so a request over a limit fails whole, before touching state.
  bool payload = false;
  absl::Status payload_error;  // a payload that is no container: one REJECTED verdict
  if (!request.payload().empty()) {
    const engine::ReadLimits read_limits{
        .max_inflated_bytes = static_cast<size_t>(limits_.max_inflated_bytes),
        .max_records = static_cast<size_t>(max_events - request.events_size())};
    absl::StatusOr<size_t> records =
        buf.reader.Open(request.payload(), engine::ContainerHint::kUnknown, read_limits);
    if (!records.ok() && records.status().code() == absl::StatusCode::kResourceExhausted) {
      return OverLimit(records.status(), request.events_size());
    }
    if (!records.ok()) {
      payload_error = records.status();
    } else {
      payload = true;
    }
  }
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
  if (payload) {
    absl::Status read = buf.reader.ForEach([&](size_t, const engine::RecordOrError& r) {
      if (r.error != nullptr) {
        builder.Reject(*r.error);
      } else {
        builder.Record(r.record);
      }
    });
    // JSON lines whose lines are containers can only be counted while read:
    // the transaction ends uncommitted, so nothing of the request stands.
    if (read.code() == absl::StatusCode::kResourceExhausted) {
      return OverLimit(read, request.events_size());
    }
    if (!read.ok()) builder.Reject({"payload", std::string(read.message())});
  } else if (!payload_error.ok()) {
    builder.Reject({"payload", std::string(payload_error.message())});
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

absl::Status RequestEvaluator::OverLimit(const absl::Status& read, int events) const {
  return absl::InvalidArgumentError(absl::StrCat(
      "payload: ", read.message(),
      events > 0 ? absl::StrCat(" with the request's ", events, " events") : "",
      " (max_events_per_request ", limits_.max_events_per_request, ", max_inflated_bytes ",
      limits_.max_inflated_bytes, "); nothing was evaluated"));
}

}  // namespace trailsentry::service
