// ParseRecord: one CloudTrail record (a simdjson DOM element) into an Event.
//
// Reads only the fields of spec §1 and ignores all others. A record that is not an
// object, lacks eventName or eventSource, or has no parseable event time is
// rejected with the field at fault:
//
//   Event ev;
//   std::optional<RecordError> err = ParseRecord(element, ev);
//   if (err) log("field %s: %s", err->field, err->reason);
#ifndef TRAILSENTRY_SERVER_ENGINE_RECORD_PARSER_H_
#define TRAILSENTRY_SERVER_ENGINE_RECORD_PARSER_H_

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "server/engine/event.h"

namespace trailsentry::engine {

// Why a record was rejected: the JSON field at fault and a sentence for humans.
struct RecordError {
  std::string field;
  std::string reason;
};

// Longest accepted eventName / eventSource, and any other string field we read.
inline constexpr size_t kMaxNameBytes = 256;
inline constexpr size_t kMaxFieldBytes = 8192;

// Fills `out` with views into the element's document; they stay valid until the
// parser that produced `record` parses again.
[[nodiscard]] std::optional<RecordError> ParseRecord(simdjson::dom::element record, Event& out);

// Rejects event times more than a day after `now`: a clock that far off would
// make every later event of the identity LATE.
[[nodiscard]] std::optional<RecordError> CheckNotInFuture(EventTime time, EventTime now);

// If `doc` is an EventBridge envelope ({"detail-type": ..., "detail": {...}}),
// returns the CloudTrail record inside; otherwise returns `doc` itself.
simdjson::dom::element UnwrapEventBridge(simdjson::dom::element doc);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_RECORD_PARSER_H_
