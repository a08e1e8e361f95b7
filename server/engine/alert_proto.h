// Conversions from engine results to the trailsentry.v1 API messages.
//
//   trailsentry::v1::Alert a = ToProto(change.alert);
//   ToProto(verdict, &verdict_proto);
#ifndef TRAILSENTRY_SERVER_ENGINE_ALERT_PROTO_H_
#define TRAILSENTRY_SERVER_ENGINE_ALERT_PROTO_H_

#include "server/engine/alert.h"
#include "server/engine/engine.h"
#include "trailsentry/v1/alert.pb.h"
#include "trailsentry/v1/event.pb.h"

namespace trailsentry::engine {

void ToProto(const Alert& alert, v1::Alert* out);
// The inverse, for alerts read back from storage. `opened_at` is not in the proto.
// `event_times` (when given, one per event id, in order) restores the times of
// the event ids, which the wire form does not carry.
Alert FromProto(const v1::Alert& proto, EventTime opened_at,
                const std::vector<EventTime>& event_times = {});
EventTime FromTimestamp(const google::protobuf::Timestamp& t);
void ToProto(const Verdict& verdict, std::string_view event_id, v1::Verdict* out);
google::protobuf::Timestamp ToTimestamp(EventTime t);
// An RFC 3339 text into a Timestamp; false when it does not parse.
bool ParseTimestamp(std::string_view rfc3339, google::protobuf::Timestamp* out);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_ALERT_PROTO_H_
