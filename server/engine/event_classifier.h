// EventClassifier: the filters of spec §1 applied to one Event.
//
// Decides whether an event is a discovery call, comes from the AWS CLI, is from an
// excluded actor, and who it belongs to (identity key and account). Built once
// from Config; Classify allocates nothing.
//
//   EventClassifier classifier(config);
//   Classification c = classifier.Classify(event, key_buffer);
//   if (c.discovery && c.cli && c.exclusion == Exclusion::kNone) { ... }
#ifndef TRAILSENTRY_SERVER_ENGINE_EVENT_CLASSIFIER_H_
#define TRAILSENTRY_SERVER_ENGINE_EVENT_CLASSIFIER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/engine/config.h"
#include "server/engine/event.h"
#include "server/engine/internal/name_set.h"
#include "server/engine/ip_address.h"

namespace trailsentry::engine {

// In spec order; the first that applies is reported. Values match the proto enum.
enum class Exclusion {
  kNone = 0,
  kAwsService = 1,
  kConsoleSession = 2,
  kNoValidSourceIp = 3,
  kUserName = 4,
  kIdentityAllowlist = 5,
  kUserAgentAllowlist = 6,
};

struct Classification {
  bool discovery = false;
  bool cli = false;
  bool failed = false;  // errorCode present
  Exclusion exclusion = Exclusion::kNone;
  std::optional<IpAddress> source_ip;
  // Empty when the event is unattributable. Points into the event or into the
  // key buffer passed to Classify.
  std::string_view identity;
  std::string_view account;
  // userIdentity.userName, else sessionIssuer.userName.
  std::string_view user_name;
};

class EventClassifier {
 public:
  explicit EventClassifier(const Config& config);

  // `key_buffer` holds a composed "<account>:<principalId>" key when there is no ARN.
  Classification Classify(const Event& event, std::string& key_buffer) const;

  bool IsDiscovery(std::string_view event_source, std::string_view event_name) const;

 private:
  bool any_provider_ = false;
  internal::NameSet providers_;  // full eventSource names
  std::vector<std::string> prefixes_;
  internal::NameSet excluded_actions_;
  internal::NameSet excluded_user_names_;
  std::vector<std::string> identity_allowlist_;
  std::vector<std::string> user_agent_allowlist_;
};

// `userAgent` contains "aws-cli/<digits>.<digits>" at a word boundary.
bool IsAwsCliUserAgent(std::string_view user_agent);

// Shell-style glob: '*' matches any run, '?' one character; case-sensitive.
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_EVENT_CLASSIFIER_H_
