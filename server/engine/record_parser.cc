#include "server/engine/record_parser.h"

#include <string>

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
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "a number";
    case element_type::STRING: return "a string";
    case element_type::BOOL: return "a boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "unknown";
}

// Reads an optional string field: absent, null or of another type yields "".
// Over-long values are an error naming the field.
std::optional<RecordError> OptionalString(element value, std::string_view field,
                                          std::string_view& out) {
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS) return std::nullopt;
  if (s.size() > kMaxFieldBytes) {
    return RecordError{std::string(field), "longer than " + std::to_string(kMaxFieldBytes) +
                                               " bytes (" + std::to_string(s.size()) + ")"};
  }
  out = s;
  return std::nullopt;
}

std::optional<RecordError> ParseSessionIssuer(element session_context, Event& out) {
  object ctx;
  if (session_context.get_object().get(ctx) != simdjson::SUCCESS) return std::nullopt;
  element issuer_el;
  if (ctx["sessionIssuer"].get(issuer_el) != simdjson::SUCCESS) return std::nullopt;
  object issuer;
  if (issuer_el.get_object().get(issuer) != simdjson::SUCCESS) return std::nullopt;
  for (auto field : issuer) {
    std::optional<RecordError> err;
    if (field.key == "userName") {
      err = OptionalString(field.value, "userIdentity.sessionContext.sessionIssuer.userName",
                           out.issuer_user_name);
    } else if (field.key == "arn") {
      err = OptionalString(field.value, "userIdentity.sessionContext.sessionIssuer.arn",
                           out.issuer_arn);
    }
    if (err) return err;
  }
  return std::nullopt;
}

std::optional<RecordError> ParseUserIdentity(element value, Event& out) {
  object identity;
  if (value.get_object().get(identity) != simdjson::SUCCESS) return std::nullopt;
  for (auto field : identity) {
    const std::string_view key = field.key;
    std::optional<RecordError> err;
    if (key == "type") {
      err = OptionalString(field.value, "userIdentity.type", out.identity_type);
    } else if (key == "arn") {
      err = OptionalString(field.value, "userIdentity.arn", out.arn);
    } else if (key == "principalId") {
      err = OptionalString(field.value, "userIdentity.principalId", out.principal_id);
    } else if (key == "accountId") {
      err = OptionalString(field.value, "userIdentity.accountId", out.account_id);
    } else if (key == "accessKeyId") {
      err = OptionalString(field.value, "userIdentity.accessKeyId", out.access_key_id);
    } else if (key == "userName") {
      err = OptionalString(field.value, "userIdentity.userName", out.user_name);
    } else if (key == "sessionContext") {
      err = ParseSessionIssuer(field.value, out);
    }
    if (err) return err;
  }
  return std::nullopt;
}

// eventName / eventSource: present, a non-empty string, of sane length.
std::optional<RecordError> RequiredName(element value, std::string_view field,
                                        std::string_view& out) {
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS) {
    return RecordError{std::string(field),
                       std::string("expected a string, found ") + TypeName(value.type())};
  }
  if (s.empty()) return RecordError{std::string(field), "is empty"};
  if (s.size() > kMaxNameBytes) {
    return RecordError{std::string(field), "longer than " + std::to_string(kMaxNameBytes) +
                                               " bytes (" + std::to_string(s.size()) + ")"};
  }
  out = s;
  return std::nullopt;
}

std::optional<RecordError> ParseTime(element value, std::string_view field, EventTime& out) {
  std::string_view s;
  if (value.get_string().get(s) != simdjson::SUCCESS) {
    return RecordError{std::string(field), std::string("expected an RFC 3339 string, found ") +
                                               TypeName(value.type())};
  }
  std::optional<EventTime> t = ParseRfc3339(s);
  if (!t) {
    return RecordError{std::string(field),
                       "not an RFC 3339 time between 1970 and 9999: " + Quote(s)};
  }
  out = *t;
  return std::nullopt;
}

}  // namespace

std::optional<RecordError> CheckNotInFuture(EventTime time, EventTime now) {
  constexpr EventTime kMaxSkew = 24 * 3600 * kMillisPerSecond;
  if (time > now + kMaxSkew) {
    return RecordError{"eventTime", FormatRfc3339(time) + " is more than 24h in the future"};
  }
  return std::nullopt;
}

element UnwrapEventBridge(element doc) {
  object obj;
  if (doc.get_object().get(obj) != simdjson::SUCCESS) return doc;
  element detail_type, detail;
  if (obj["detail-type"].get(detail_type) == simdjson::SUCCESS &&
      obj["detail"].get(detail) == simdjson::SUCCESS && detail.is_object()) {
    return detail;
  }
  return doc;
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
  for (auto field : obj) {
    const std::string_view key = field.key;
    std::optional<RecordError> err;
    // Dispatch on the first letter: records carry ~25 top-level keys.
    switch (key.empty() ? '\0' : key[0]) {
      case 'e':
        if (key == "eventName") {
          err = RequiredName(field.value, "eventName", out.event_name);
          have_name = true;
        } else if (key == "eventSource") {
          err = RequiredName(field.value, "eventSource", out.event_source);
          have_source = true;
        } else if (key == "eventTime") {
          if (!field.value.is_null()) {
            event_time = field.value;
            have_time = true;
          }
        } else if (key == "eventID") {
          err = OptionalString(field.value, "eventID", out.event_id);
        } else if (key == "errorCode") {
          err = OptionalString(field.value, "errorCode", out.error_code);
        }
        break;
      case 's':
        if (key == "sourceIPAddress") {
          err = OptionalString(field.value, "sourceIPAddress", out.source_ip);
        } else if (key == "sessionCredentialFromConsole") {
          bool b;
          std::string_view s;
          if (field.value.get_bool().get(b) == simdjson::SUCCESS) {
            out.console_session = b;
          } else if (field.value.get_string().get(s) == simdjson::SUCCESS) {
            out.console_session = s == "true";
          }
        }
        break;
      case 'u':
        if (key == "userAgent") {
          err = OptionalString(field.value, "userAgent", out.user_agent);
        } else if (key == "userIdentity") {
          err = ParseUserIdentity(field.value, out);
        }
        break;
      case 'a':
        if (key == "awsRegion") err = OptionalString(field.value, "awsRegion", out.aws_region);
        break;
      case 'r':
        if (key == "recipientAccountId") {
          err = OptionalString(field.value, "recipientAccountId", out.recipient_account_id);
        }
        break;
      case '@':
        if (key == "@timestamp" && !field.value.is_null()) {
          timestamp = field.value;
          have_timestamp = true;
        }
        break;
      default:
        break;
    }
    if (err) return err;
  }
  if (!have_name) return RecordError{"eventName", "missing"};
  if (!have_source) return RecordError{"eventSource", "missing"};
  if (have_time) return ParseTime(event_time, "eventTime", out.time);
  if (have_timestamp) return ParseTime(timestamp, "@timestamp", out.time);
  return RecordError{"eventTime", "missing (and no @timestamp to fall back on)"};
}

}  // namespace trailsentry::engine
