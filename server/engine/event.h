// Event: the CloudTrail fields trailsentry reads (spec §1), as views.
//
// An Event never owns its strings: they point into the parser's buffer (or a
// caller's message) and stay valid only while that record is being evaluated.
//
//   Event ev;
//   if (auto err = ParseRecord(element, ev)) { /* REJECTED: err->field, err->reason */ }
//   engine.Evaluate("tenant", ev);
#ifndef TRAILSENTRY_SERVER_ENGINE_EVENT_H_
#define TRAILSENTRY_SERVER_ENGINE_EVENT_H_

#include <string_view>

#include "server/engine/event_time.h"

namespace trailsentry::engine {

struct Event {
  EventTime time = 0;
  std::string_view event_source;
  std::string_view event_name;
  std::string_view event_id;
  std::string_view source_ip;
  std::string_view user_agent;
  std::string_view error_code;
  std::string_view aws_region;
  std::string_view recipient_account_id;
  // userIdentity
  std::string_view identity_type;
  std::string_view arn;
  std::string_view principal_id;
  std::string_view account_id;
  std::string_view access_key_id;
  std::string_view user_name;
  // userIdentity.sessionContext.sessionIssuer
  std::string_view issuer_user_name;
  std::string_view issuer_arn;
  bool console_session = false;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_EVENT_H_
