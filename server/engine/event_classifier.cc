#include "server/engine/event_classifier.h"

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/record_account.h"

namespace trailsentry::engine {
namespace {

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

bool IsAwsCliUserAgent(std::string_view ua) {
  // memchr for each 'a', then an 8-byte compare the compiler inlines: user
  // agents run to 200+ bytes and most hold no "aws-cli/" at all.
  constexpr size_t kLen = 8;
  const char* const begin = ua.data();
  const char* const end = begin + ua.size();
  for (const char* p = begin; end - p >= static_cast<ptrdiff_t>(kLen + 1);) {
    p = static_cast<const char*>(std::memchr(p, 'a', static_cast<size_t>(end - p) - kLen));
    if (p == nullptr) break;
    const size_t pos = static_cast<size_t>(p - begin);
    ++p;
    if (std::memcmp(begin + pos, "aws-cli/", kLen) != 0) continue;
    if (pos > 0 && IsWordChar(ua[pos - 1])) continue;
    size_t i = pos + kLen;
    const size_t major = i;
    while (i < ua.size() && IsDigit(ua[i])) ++i;
    if (i == major || i >= ua.size() || ua[i] != '.') continue;
    ++i;
    if (i < ua.size() && IsDigit(ua[i])) return true;
  }
  return false;
}

bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

EventClassifier::EventClassifier(const Config& config) {
  std::vector<std::string> sources;
  for (const std::string& p : config.discovery.providers) {
    if (p == "*") {
      any_provider_ = true;
    } else {
      sources.push_back(absl::StrCat(p, ".amazonaws.com"));
    }
  }
  providers_ = internal::NameSet(sources);
  prefixes_ = config.discovery.prefixes;
  excluded_actions_ = internal::NameSet(config.discovery.excluded_actions);
  excluded_user_names_ = internal::NameSet(config.exclusions.user_names);
  identity_allowlist_ = config.exclusions.identity_allowlist;
  user_agent_allowlist_ = config.exclusions.user_agent_allowlist;
}

bool EventClassifier::IsDiscovery(std::string_view source, std::string_view name) const {
  if (!any_provider_ && !providers_.contains(source)) return false;
  bool prefixed = false;
  for (const std::string& prefix : prefixes_) {
    if (absl::StartsWith(AbslView(name), prefix)) {
      prefixed = true;
      break;
    }
  }
  return prefixed && !excluded_actions_.contains(name);
}

Classification EventClassifier::Classify(const Event& ev, std::string& key_buffer) const {
  Classification c;
  c.discovery = IsDiscovery(ev.event_source, ev.event_name);
  c.cli = IsAwsCliUserAgent(ev.user_agent);
  c.failed = !ev.error_code.empty();
  c.source_ip = IpAddress::Parse(ev.source_ip);
  c.user_name = !ev.user_name.empty() ? ev.user_name : ev.issuer_user_name;

  c.account = EventAccount(ev.account_id, ev.arn, ev.recipient_account_id);

  if (!ev.arn.empty()) {
    c.identity = ev.arn;
  } else if (!ev.principal_id.empty()) {
    key_buffer.assign(c.account);
    key_buffer.push_back(':');
    key_buffer.append(ev.principal_id);
    c.identity = key_buffer;
  }

  if (ev.identity_type == "AWSService") {
    c.exclusion = Exclusion::kAwsService;
  } else if (ev.console_session) {
    c.exclusion = Exclusion::kConsoleSession;
  } else if (!c.source_ip) {
    c.exclusion = Exclusion::kNoValidSourceIp;
  } else if (!c.user_name.empty() && excluded_user_names_.contains(c.user_name)) {
    c.exclusion = Exclusion::kUserName;
  } else {
    for (const std::string& glob : identity_allowlist_) {
      if (!ev.arn.empty() && GlobMatch(glob, ev.arn)) {
        c.exclusion = Exclusion::kIdentityAllowlist;
        break;
      }
    }
    if (c.exclusion == Exclusion::kNone) {
      for (const std::string& sub : user_agent_allowlist_) {
        if (absl::StrContains(AbslView(ev.user_agent), sub)) {
          c.exclusion = Exclusion::kUserAgentAllowlist;
          break;
        }
      }
    }
  }
  return c;
}

}  // namespace trailsentry::engine
