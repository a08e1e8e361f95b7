#include "client/fleet_alerts.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <deque>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace trailsentry {
namespace {

constexpr char kTokenPrefix[] = "fleet1";

// One replica's position: the token of the page being read ("" for the first)
// and how many of its alerts were given; `done` once its list is exhausted.
struct Cursor {
  std::string token;
  int given = 0;
  bool done = false;
};

// "fleet1,<fetch size>,<n>" then per replica ",<given>,<done>,<base64 token>",
// the whole web-safe base64.
std::string EncodeToken(int fetch, const std::vector<Cursor>& cursors) {
  std::string raw = absl::StrCat(kTokenPrefix, ",", fetch, ",", cursors.size());
  for (const Cursor& c : cursors) {
    absl::StrAppend(&raw, ",", c.given, ",", c.done ? 1 : 0, ",",
                    absl::WebSafeBase64Escape(c.token));
  }
  return absl::WebSafeBase64Escape(raw);
}

bool DecodeToken(const std::string& token, size_t replicas, int& fetch,
                 std::vector<Cursor>& cursors) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return false;
  std::vector<std::string> parts = absl::StrSplit(raw, ',');
  size_t n = 0;
  if (parts.size() < 3 || parts[0] != kTokenPrefix || !absl::SimpleAtoi(parts[1], &fetch) ||
      !absl::SimpleAtoi(parts[2], &n) || n != replicas || parts.size() != 3 + 3 * n || fetch < 1) {
    return false;
  }
  cursors.assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    int done = 0;
    if (!absl::SimpleAtoi(parts[3 + 3 * i], &cursors[i].given) || cursors[i].given < 0 ||
        !absl::SimpleAtoi(parts[4 + 3 * i], &done) ||
        !absl::WebSafeBase64Unescape(parts[5 + 3 * i], &cursors[i].token)) {
      return false;
    }
    cursors[i].done = done != 0;
  }
  return true;
}

// Newest first: later window start, then the greater id (as one replica orders ties).
bool Before(const v1::Alert& a, const v1::Alert& b) {
  const auto ta = std::make_pair(a.window_start().seconds(), a.window_start().nanos());
  const auto tb = std::make_pair(b.window_start().seconds(), b.window_start().nanos());
  if (ta != tb) return ta > tb;
  return a.alert_id() > b.alert_id();
}

}  // namespace

absl::StatusOr<v1::ListAlertsResponse> ListAlertsAcross(const std::vector<Client*>& replicas,
                                                        const v1::ListAlertsRequest& request) {
  if (replicas.empty()) return absl::InvalidArgumentError("no replicas to list alerts from");
  if (request.has_updated_since()) {
    return absl::InvalidArgumentError(
        "updated_since is ordered by each replica's own clock: ask each replica");
  }
  const int page_size = request.page_size() > 0 ? request.page_size() : 100;
  int fetch = std::min(page_size, 1000);
  std::vector<Cursor> cursors(replicas.size());
  if (!request.page_token().empty() &&
      !DecodeToken(request.page_token(), replicas.size(), fetch, cursors)) {
    return absl::InvalidArgumentError("page_token is not from this list of replicas");
  }
  // Per replica: the alerts of its current page not yet given, and the token of
  // the page after it.
  struct Source {
    std::deque<v1::Alert> pending;
    std::string next;
  };
  std::vector<Source> sources(replicas.size());
  auto fetch_page = [&](size_t i) -> absl::Status {
    v1::ListAlertsRequest r = request;
    r.set_page_size(fetch);
    r.set_page_token(cursors[i].token);
    absl::StatusOr<v1::ListAlertsResponse> page = replicas[i]->ListAlerts(r);
    if (!page.ok()) return page.status();
    Source& s = sources[i];
    s.pending.assign(page->alerts().begin(), page->alerts().end());
    for (int k = 0; k < cursors[i].given && !s.pending.empty(); ++k) s.pending.pop_front();
    s.next = page->next_page_token();
    return absl::OkStatus();
  };
  for (size_t i = 0; i < replicas.size(); ++i) {
    if (cursors[i].done) continue;
    if (absl::Status s = fetch_page(i); !s.ok()) return s;
  }
  v1::ListAlertsResponse out;
  while (out.alerts_size() < page_size) {
    size_t best = replicas.size();
    for (size_t i = 0; i < replicas.size(); ++i) {
      Source& s = sources[i];
      // A page used up: the next one, if any.
      while (!cursors[i].done && s.pending.empty()) {
        if (s.next.empty()) {
          cursors[i].done = true;
          break;
        }
        cursors[i] = {s.next, 0, false};
        if (absl::Status st = fetch_page(i); !st.ok()) return st;
      }
      if (s.pending.empty()) continue;
      if (best == replicas.size() || Before(s.pending.front(), sources[best].pending.front())) {
        best = i;
      }
    }
    if (best == replicas.size()) break;  // every replica exhausted
    *out.add_alerts() = std::move(sources[best].pending.front());
    sources[best].pending.pop_front();
    ++cursors[best].given;
  }
  bool more = false;
  for (size_t i = 0; i < replicas.size(); ++i) {
    if (!sources[i].pending.empty() || (!cursors[i].done && !sources[i].next.empty())) more = true;
    if (sources[i].pending.empty() && !cursors[i].done && sources[i].next.empty()) {
      cursors[i].done = true;
    }
  }
  if (more) out.set_next_page_token(EncodeToken(fetch, cursors));
  return out;
}

absl::StatusOr<std::vector<std::string>> ResolveReplicas(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& name : names) {
    if (!absl::StartsWith(name, "dns:")) {
      out.push_back(name);
      continue;
    }
    const std::string hostport = name.substr(4);
    const size_t colon = hostport.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == hostport.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("replica \"", name, "\": dns:NAME:PORT expected"));
    }
    const std::string host = hostport.substr(0, colon), port = hostport.substr(colon + 1);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
      return absl::NotFoundError(absl::StrCat("replica \"", name, "\": ", gai_strerror(rc)));
    }
    std::vector<std::string> resolved;
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
      char text[INET6_ADDRSTRLEN] = {};
      if (a->ai_family == AF_INET) {
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a->ai_addr)->sin_addr, text,
                  sizeof(text));
        resolved.push_back(absl::StrCat(text, ":", port));
      } else if (a->ai_family == AF_INET6) {
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a->ai_addr)->sin6_addr, text,
                  sizeof(text));
        resolved.push_back(absl::StrCat("[", text, "]:", port));
      }
    }
    freeaddrinfo(found);
    std::sort(resolved.begin(), resolved.end());
    resolved.erase(std::unique(resolved.begin(), resolved.end()), resolved.end());
    if (resolved.empty()) {
      return absl::NotFoundError(absl::StrCat("replica \"", name, "\": no address"));
    }
    out.insert(out.end(), resolved.begin(), resolved.end());
  }
  return out;
}

}  // namespace trailsentry
