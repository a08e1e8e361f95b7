#include "server/engine/record_parser.h"

#include <cstring>
#include <string>

#include "server/engine/internal/name_set.h"

namespace trailsentry::engine {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

std::string Quote(std::string_view s) {
  constexpr size_t kShown = 64;
  std::string out = "\"";
  out.append(s.substr(0, kShown));
  if (s.size() > kShown) out.append("...");
  out.append("\"");
  return out;
}

const char* TypeName(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

using internal::KeyIs;

// The parse helpers return true on success; on failure they fill `err`, so the
// common path moves no strings.

// Reads an optional string field: absent, null or of another type yields "".
// Over-long values are an error naming the field.
bool OptionalString(element value, const char* field, std::string_view& out, RecordError& err) {
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS) return true;
  if (s.size() > kMaxFieldBytes) {
    err = {field, "longer than " + std::to_string(kMaxFieldBytes) + " bytes (" +
                      std::to_string(s.size()) + ")"};
    return false;
  }
  out = s;
  return true;
}

bool ParseSessionIssuer(element session_context, Event& out, RecordError& err) {
  object ctx;
  if (session_context.get_object().get(ctx) != simdjson::SUCCESS) return true;
  for (auto field : ctx) {
    if (field.key != "sessionIssuer") continue;
    object issuer;
    if (field.value.get_object().get(issuer) != simdjson::SUCCESS) return true;
    for (auto f : issuer) {
      if (KeyIs(f.key, "userName")) {
        if (!OptionalString(f.value, "userIdentity.sessionContext.sessionIssuer.userName",
                            out.issuer_user_name, err)) {
          return false;
        }
      } else if (KeyIs(f.key, "arn")) {
        if (!OptionalString(f.value, "userIdentity.sessionContext.sessionIssuer.arn",
                            out.issuer_arn, err)) {
          return false;
        }
      }
    }
  }
  return true;
}

bool ParseUserIdentity(element value, Event& out, RecordError& err) {
  object identity;
  if (value.get_object().get(identity) != simdjson::SUCCESS) return true;
  for (auto field : identity) {
    const std::string_view key = field.key;
    bool ok = true;
    switch (key.size()) {
      case 3:
        if (KeyIs(key, "arn")) ok = OptionalString(field.value, "userIdentity.arn", out.arn, err);
        break;
      case 4:
        if (KeyIs(key, "type"))
          ok = OptionalString(field.value, "userIdentity.type", out.identity_type, err);
        break;
      case 8:
        if (KeyIs(key, "userName")) {
          ok = OptionalString(field.value, "userIdentity.userName", out.user_name, err);
        }
        break;
      case 9:
        if (KeyIs(key, "accountId")) {
          ok = OptionalString(field.value, "userIdentity.accountId", out.account_id, err);
        }
        break;
      case 11:
        if (KeyIs(key, "principalId")) {
          ok = OptionalString(field.value, "userIdentity.principalId", out.principal_id, err);
        } else if (KeyIs(key, "accessKeyId")) {
          ok = OptionalString(field.value, "userIdentity.accessKeyId", out.access_key_id, err);
        }
        break;
      case 14:
        if (KeyIs(key, "sessionContext")) ok = ParseSessionIssuer(field.value, out, err);
        break;
      default:
        break;
    }
    if (!ok) return false;
  }
  return true;
}

// eventName / eventSource: present, a non-empty string, of sane length.
bool RequiredName(element value, const char* field, std::string_view& out, RecordError& err) {
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS) {
    err = {field, std::string("expected a string, found ") + TypeName(value.type())};
    return false;
  }
  if (s.empty()) {
    err = {field, "is empty"};
    return false;
  }
  if (s.size() > kMaxNameBytes) {
    err = {field, "longer than " + std::to_string(kMaxNameBytes) + " bytes (" +
                      std::to_string(s.size()) + ")"};
    return false;
  }
  out = s;
  return true;
}

std::optional<RecordError> ParseTime(element value, const char* field, EventTime& out) {
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS) {
    return RecordError{field,
                       std::string("expected an RFC 3339 string, found ") + TypeName(value.type())};
  }
  std::optional<EventTime> t = ParseRfc3339(s);
  if (!t) return RecordError{field, "not an RFC 3339 time between 1970 and 9999: " + Quote(s)};
  out = *t;
  return std::nullopt;
}

}  // namespace

std::optional<RecordError> CheckNotInFuture(EventTime time, EventTime now) {
  constexpr EventTime kMaxSkew = EventTime{24} * 3600 * kMillisPerSecond;
  if (time > now + kMaxSkew) {
    return RecordError{"eventTime", FormatRfc3339(time) + " is more than 24h in the future"};
  }
  return std::nullopt;
}

element UnwrapEventBridge(element doc) {
  object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return doc;
  bool typed = false;
  element detail;
  bool have_detail = false;
  for (auto field : obj) {
    if (KeyIs(field.key, "detail-type")) {
      typed = true;
    } else if (KeyIs(field.key, "detail") && field.value.is_object()) {
      detail = field.value;
      have_detail = true;
    }
  }
  return typed && have_detail ? detail : doc;
}

std::optional<RecordError> ParseRecord(element record, Event& out) {
  out = Event{};
  object obj;
  if (record.get_object().get(obj) != simdjson::SUCCESS) {
    return RecordError{"record",
                       std::string("expected a JSON object, found ") + TypeName(record.type())};
  }
  bool have_name = false, have_source = false;
  bool have_time = false, have_timestamp = false;
  element event_time, timestamp;
  RecordError err;
  // Records carry ~25 top-level keys; dispatching on length first means most
  // keys we do not read cost one comparison of sizes.
  for (auto field : obj) {
    const std::string_view key = field.key;
    bool ok = true;
    switch (key.size()) {
      case 7:
        if (KeyIs(key, "eventID")) ok = OptionalString(field.value, "eventID", out.event_id, err);
        break;
      case 9:
        if (KeyIs(key, "eventName")) {
          ok = RequiredName(field.value, "eventName", out.event_name, err);
          have_name = true;
        } else if (KeyIs(key, "eventTime")) {
          if (!field.value.is_null()) {
            event_time = field.value;
            have_time = true;
          }
        } else if (KeyIs(key, "errorCode")) {
          ok = OptionalString(field.value, "errorCode", out.error_code, err);
        } else if (KeyIs(key, "awsRegion")) {
          ok = OptionalString(field.value, "awsRegion", out.aws_region, err);
        } else if (KeyIs(key, "userAgent")) {
          ok = OptionalString(field.value, "userAgent", out.user_agent, err);
        }
        break;
      case 10:
        if (KeyIs(key, "@timestamp") && !field.value.is_null()) {
          timestamp = field.value;
          have_timestamp = true;
        }
        break;
      case 11:
        if (KeyIs(key, "eventSource")) {
          ok = RequiredName(field.value, "eventSource", out.event_source, err);
          have_source = true;
        }
        break;
      case 12:
        if (KeyIs(key, "userIdentity")) ok = ParseUserIdentity(field.value, out, err);
        break;
      case 15:
        if (KeyIs(key, "sourceIPAddress")) {
          ok = OptionalString(field.value, "sourceIPAddress", out.source_ip, err);
        }
        break;
      case 18:
        if (KeyIs(key, "recipientAccountId")) {
          ok = OptionalString(field.value, "recipientAccountId", out.recipient_account_id, err);
        }
        break;
      case 28:
        if (KeyIs(key, "sessionCredentialFromConsole")) {
          bool b;
          std::string_view s;
          if (field.value.get_bool().get(b) == simdjson::SUCCESS) {
            out.console_session = b;
          } else if (field.value.get_string().get(s) == simdjson::SUCCESS) {
            out.console_session = s == "true";
          }
        }
        break;
      default:
        break;
    }
    if (!ok) return err;
  }
  if (!have_name) return RecordError{"eventName", "missing"};
  if (!have_source) return RecordError{"eventSource", "missing"};
  if (have_time) return ParseTime(event_time, "eventTime", out.time);
  if (have_timestamp) return ParseTime(timestamp, "@timestamp", out.time);
  return RecordError{"eventTime", "missing (and no @timestamp to fall back on)"};
}

}  // namespace trailsentry::engine
