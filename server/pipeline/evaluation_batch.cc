#include "server/pipeline/evaluation_batch.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/printable.h"
#include "server/engine/record_account.h"
#include "server/pipeline/drift_gate.h"
#include "trailsentry/shard_key.h"

namespace trailsentry::pipeline {
namespace {

using engine::Event;
using engine::RecordError;

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

// This thread's parser for records that come as JSON text, and its padded copy.
struct JsonBuffers {
  simdjson::dom::parser parser;
  std::string padded;
};

// Buffers grown past this by one large record are freed after it.
constexpr size_t kKeepBufferBytes = size_t{32} << 20;

JsonBuffers& Buffers() {
  thread_local JsonBuffers buffers;
  return buffers;
}

}  // namespace

EvaluationBatch::EvaluationBatch(engine::Engine& engine, storage::Database* db,
                                 std::string_view tenant, VerdictSink& sink, engine::EventTime now)
    : engine_(engine), tx_(engine, db), tenant_(tenant), sink_(sink), now_(now) {}

void VerdictSink::Forward(std::string_view /*account*/, std::string_view owner,
                          v1::Event&& /*event*/) {
  Rejected(RecordError{"account", absl::StrCat("belongs to replica ", AbslView(owner),
                                               ", and this caller forwards nothing")});
}

void EvaluationBatch::AddRecord(simdjson::dom::element record) {
  AddParsed(record, Input{.record = &record});
}

void EvaluationBatch::AddParsed(simdjson::dom::element record, const Input& input) {
  Event ev;
  if (std::optional<RecordError> err = engine::ParseRecord(record, ev)) {
    return sink_.Rejected(*err);
  }
  Add(ev, input);
}

void EvaluationBatch::AddJson(std::string_view json) {
  JsonBuffers& buf = Buffers();
  buf.padded.reserve(json.size() + simdjson::SIMDJSON_PADDING);
  buf.padded.assign(json);
  simdjson::dom::element doc;
  if (auto error = buf.parser.parse(buf.padded.data(), buf.padded.size(), false).get(doc)) {
    sink_.Rejected({"raw_json", absl::StrCat("invalid JSON: ", simdjson::error_message(error))});
  } else {
    AddParsed(engine::UnwrapEventBridge(doc), Input{.json = json});
  }
  if (buf.padded.capacity() > kKeepBufferBytes) std::string().swap(buf.padded);
  if (buf.parser.capacity() > kKeepBufferBytes) buf.parser = simdjson::dom::parser();
}

void EvaluationBatch::AddStructured(const v1::CloudTrailEvent& event) {
  Event ev;
  if (std::optional<RecordError> err = FromStructured(event, ev)) return sink_.Rejected(*err);
  Add(ev, Input{.structured = &event});
}

bool EvaluationBatch::Misrouted(const Event& ev, const Input& input) {
  if (ring_ == nullptr) return false;
  const std::string_view account =
      engine::EventAccount(ev.account_id, ev.arn, ev.recipient_account_id);
  const std::string_view owner = ring_->Owner(account);
  if (owner == self_) return false;
  if (!forward_) {
    sink_.Rejected(RecordError{
        "account", absl::StrCat("account \"", engine::Printable(account), "\" belongs to replica ",
                                AbslView(owner), ", not to this one (", AbslView(self_),
                                "): senders must set the ", kShardHeader,
                                " header to the event's account and the proxy must route on it")});
    return true;
  }
  v1::Event event;
  if (input.structured != nullptr) {
    *event.mutable_structured() = *input.structured;
  } else if (input.record == nullptr) {
    event.set_raw_json(std::string(input.json));
  } else {
    event.set_raw_json(simdjson::minify(*input.record));
  }
  sink_.Forward(account, owner, std::move(event));
  return true;
}

void EvaluationBatch::Add(const Event& ev, const Input& input) {
  if (std::optional<RecordError> err = engine::CheckNotInFuture(ev.time, now_)) {
    return sink_.Rejected(*err);
  }
  if (Misrouted(ev, input)) return;
  if (gate_ != nullptr) gate_->Admit(lane_, ev.time);
  engine::Verdict verdict = engine_.Evaluate(tenant_, ev, changes_, tx_.writer());
  if (!verdict.storage.ok() && storage_.ok()) storage_ = verdict.storage;
  ++evaluated_;
  sink_.Evaluated(ev, verdict);
}

absl::Status EvaluationBatch::Commit() {
  // A failed read means some event was judged on incomplete state: nothing of
  // the batch may stand (the transaction ends uncommitted), so its retry is
  // judged afresh.
  if (!storage_.ok()) {
    return absl::UnavailableError(absl::StrCat("reading state: ", storage_.message()));
  }
  return tx_.Commit();
}

}  // namespace trailsentry::pipeline
