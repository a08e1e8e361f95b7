// Printable: any bytes as text that is safe to log or to put in a reply.
//
// Valid UTF-8 passes unchanged except control characters (C0, DEL, C1), which are
// escaped as \n, \r, \t or \xNN; bytes that are not valid UTF-8 are escaped as
// \xNN. The result is valid UTF-8 on one line, so a field from a request can
// neither forge a log line nor make a reply undecodable (proto3 strings must be
// UTF-8). Long input is cut at `max_bytes` (on a character boundary) with "...".
//
//   spdlog::info("forgot identity {}", Printable(request.identity()));
//   verdict->set_reject_reason(Printable(reason));
#ifndef TRAILSENTRY_SERVER_ENGINE_PRINTABLE_H_
#define TRAILSENTRY_SERVER_ENGINE_PRINTABLE_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace trailsentry::engine {

inline constexpr size_t kPrintableMaxBytes = 1024;

std::string Printable(std::string_view bytes, size_t max_bytes = kPrintableMaxBytes);

// True when `bytes` is valid UTF-8 (RFC 3629).
bool IsValidUtf8(std::string_view bytes);

// True when `bytes` is valid UTF-8 with no control characters: Printable(bytes)
// would return it unchanged (when short enough).
bool IsPrintable(std::string_view bytes);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_PRINTABLE_H_
