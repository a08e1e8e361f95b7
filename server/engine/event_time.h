// Event times: RFC 3339 parsing and formatting on a millisecond clock.
//
// CloudTrail writes `eventTime` as "2023-07-10T11:42:36Z"; Logstash exports carry
// "@timestamp" as "2020-09-14T00:44:23.000Z". Both parse without allocating:
//
//   std::optional<EventTime> t = ParseRfc3339("2023-07-10T11:42:36Z");
//   std::string s = FormatRfc3339(*t);  // "2023-07-10T11:42:36Z"
#ifndef TRAILSENTRY_SERVER_ENGINE_EVENT_TIME_H_
#define TRAILSENTRY_SERVER_ENGINE_EVENT_TIME_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace trailsentry::engine {

// Milliseconds since the Unix epoch, UTC.
using EventTime = int64_t;

inline constexpr EventTime kMillisPerSecond = 1000;

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('t', 'z' and ' ' as
// separator also accepted). Years outside 1970..9999 are rejected as absurd.
// Fractions beyond milliseconds are truncated.
std::optional<EventTime> ParseRfc3339(std::string_view text);

// "YYYY-MM-DDTHH:MM:SSZ", or with ".mmm" when the milliseconds are not zero.
std::string FormatRfc3339(EventTime t);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_EVENT_TIME_H_
