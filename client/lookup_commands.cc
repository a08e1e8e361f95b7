// `trailsentry identity|alerts|trust|forget`: lookups and triage feedback
// against a server.
#include <google/protobuf/util/json_util.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "client/commands.h"
#include "client/fleet_alerts.h"
#include "server/engine/alert_ocsf.h"
#include "server/engine/alert_proto.h"
#include "server/engine/event_time.h"

namespace trailsentry::cli {
namespace {

int Fail(const char* command, const absl::Status& status) {
  std::fprintf(stderr, "trailsentry %s: %s\n", command, std::string(status.message()).c_str());
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitInputErrors;
}

void PrintJson(const google::protobuf::Message& m) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;  // false and 0 are said, not left out
  (void)google::protobuf::util::MessageToJsonString(m, &json, options);
  std::fprintf(stdout, "%s\n", json.c_str());
}

void PrintOcsf(const v1::Alert& alert) {
  std::fprintf(stdout, "%s\n", engine::OcsfJson(alert).c_str());
}

absl::StatusOr<std::unique_ptr<Client>> Connect(const Client::Options& connection) {
  return Client::Connect(connection);
}

}  // namespace

int RunIdentity(const Client::Options& server, const std::string& identity) {
  auto client = Connect(server);
  if (!client.ok()) return Fail("identity", client.status());
  absl::StatusOr<v1::IdentityProfile> profile = (*client)->GetIdentity(identity);
  if (!profile.ok()) return Fail("identity", profile.status());
  PrintJson(*profile);
  return kExitOk;
}

int RunAlerts(const Client::Options& server, const AlertsOptions& o) {
  v1::ListAlertsRequest request;
  if (!o.since.empty() && !engine::ParseTimestamp(o.since, request.mutable_since())) {
    std::fprintf(stderr, "trailsentry alerts: --since: not an RFC 3339 time: %s\n",
                 o.since.c_str());
    return kExitUsage;
  }
  if (!o.until.empty() && !engine::ParseTimestamp(o.until, request.mutable_until())) {
    std::fprintf(stderr, "trailsentry alerts: --until: not an RFC 3339 time: %s\n",
                 o.until.c_str());
    return kExitUsage;
  }
  if (o.limit < 1) {
    std::fprintf(stderr, "trailsentry alerts: --limit must be at least 1\n");
    return kExitUsage;
  }
  if (!o.updated_since.empty() &&
      !engine::ParseTimestamp(o.updated_since, request.mutable_updated_since())) {
    std::fprintf(stderr, "trailsentry alerts: --updated_since: not an RFC 3339 time: %s\n",
                 o.updated_since.c_str());
    return kExitUsage;
  }
  if (!o.status.empty()) {
    v1::Alert::Status status;
    if (!v1::Alert::Status_Parse(o.status, &status)) {
      std::fprintf(stderr, "trailsentry alerts: --status: not OPEN, ACKNOWLEDGED or RESOLVED\n");
      return kExitUsage;
    }
    request.set_status(status);
  }
  request.set_rule_id(o.rule);
  request.set_identity(o.identity);
  if (o.page_size < 1 || o.page_size > 1000) {
    std::fprintf(stderr, "trailsentry alerts: --page_size must be 1..1000\n");
    return kExitUsage;
  }
  // One server, or every replica of a sharded fleet.
  absl::StatusOr<std::vector<std::string>> targets =
      o.replicas.empty() ? std::vector<std::string>{server.target} : ResolveReplicas(o.replicas);
  if (!targets.ok()) return Fail("alerts", targets.status());
  std::vector<std::unique_ptr<Client>> clients;
  for (const std::string& target : *targets) {
    Client::Options options = server;
    options.target = target;
    auto client = Connect(options);
    if (!client.ok()) return Fail("alerts", client.status());
    clients.push_back(*std::move(client));
  }
  std::vector<Client*> replicas;
  replicas.reserve(clients.size());
  for (auto& c : clients) replicas.push_back(c.get());
  int printed = 0;
  while (printed < o.limit) {
    request.set_page_size(std::min(o.limit - printed, o.page_size));
    absl::StatusOr<v1::ListAlertsResponse> page =
        o.replicas.empty() ? replicas[0]->ListAlerts(request) : ListAlertsAcross(replicas, request);
    if (!page.ok()) return Fail("alerts", page.status());
    for (const v1::Alert& a : page->alerts()) {
      if (o.ocsf) {
        PrintOcsf(a);
      } else {
        PrintJson(a);
      }
    }
    printed += page->alerts_size();
    if (page->next_page_token().empty()) break;
    request.set_page_token(page->next_page_token());
  }
  std::fprintf(stderr, "trailsentry alerts: %d alerts\n", printed);
  return kExitOk;
}

namespace {

// --identity, --account or --hostile, exactly one, into a request's scope.
template <typename Request>
bool SetScope(const char* command, const TrustOptions& o, Request& request) {
  if (!o.identity.empty() + !o.account.empty() + o.hostile != 1) {
    std::fprintf(stderr, "trailsentry %s: give exactly one of --identity, --account or --hostile\n",
                 command);
    return false;
  }
  if (!o.identity.empty()) request.set_identity(o.identity);
  if (!o.account.empty()) request.set_account_id(o.account);
  if (o.hostile) request.set_hostile(true);
  return true;
}

}  // namespace

int RunTrust(const Client::Options& server, const TrustOptions& o) {
  v1::AddKnownNetworkRequest request;
  if (!SetScope("trust", o, request)) return kExitUsage;
  request.set_cidr(o.cidr);
  request.set_force(o.force);
  if (!o.expires.empty() && !engine::ParseTimestamp(o.expires, request.mutable_expires_at())) {
    std::fprintf(stderr, "trailsentry trust: --expires: not an RFC 3339 time\n");
    return kExitUsage;
  }
  auto client = Connect(server);
  if (!client.ok()) return Fail("trust", client.status());
  absl::StatusOr<v1::AddKnownNetworkResponse> r = (*client)->AddKnownNetwork(request);
  if (!r.ok()) return Fail("trust", r.status());
  std::fprintf(stdout, "%s\n", r->network().c_str());
  return kExitOk;
}

int RunTrusted(const Client::Options& server, const TrustOptions& o) {
  v1::ListKnownNetworksRequest request;
  if (!SetScope("trusted", o, request)) return kExitUsage;
  auto client = Connect(server);
  if (!client.ok()) return Fail("trusted", client.status());
  absl::StatusOr<v1::ListKnownNetworksResponse> r = (*client)->ListKnownNetworks(request);
  if (!r.ok()) return Fail("trusted", r.status());
  for (const v1::TrustedNetwork& n : r->networks()) PrintJson(n);
  return kExitOk;
}

int RunUntrust(const Client::Options& server, const TrustOptions& o) {
  v1::RemoveKnownNetworkRequest request;
  if (!SetScope("untrust", o, request)) return kExitUsage;
  request.set_cidr(o.cidr);
  auto client = Connect(server);
  if (!client.ok()) return Fail("untrust", client.status());
  absl::StatusOr<v1::RemoveKnownNetworkResponse> r = (*client)->RemoveKnownNetwork(request);
  if (!r.ok()) return Fail("untrust", r.status());
  std::fprintf(stdout, "%s\n", r->network().c_str());
  return kExitOk;
}

int RunAlert(const Client::Options& server, const std::string& alert_id, bool ocsf) {
  auto client = Connect(server);
  if (!client.ok()) return Fail("alert", client.status());
  absl::StatusOr<v1::Alert> alert = (*client)->GetAlert(alert_id);
  if (!alert.ok()) return Fail("alert", alert.status());
  if (ocsf) {
    PrintOcsf(*alert);
  } else {
    PrintJson(*alert);
  }
  return kExitOk;
}

int RunTriage(const Client::Options& server, const TriageOptions& o) {
  v1::UpdateAlertRequest request;
  request.set_alert_id(o.alert_id);
  if (!o.status.empty()) {
    v1::Alert::Status status;
    if (!v1::Alert::Status_Parse(o.status, &status)) {
      std::fprintf(stderr, "trailsentry triage: --status: not OPEN, ACKNOWLEDGED or RESOLVED\n");
      return kExitUsage;
    }
    request.set_status(status);
  }
  if (!o.disposition.empty()) {
    v1::Alert::Disposition disposition;
    if (!v1::Alert::Disposition_Parse(o.disposition, &disposition)) {
      std::fprintf(stderr,
                   "trailsentry triage: --disposition: not TRUE_POSITIVE, FALSE_POSITIVE or "
                   "BENIGN\n");
      return kExitUsage;
    }
    request.set_disposition(disposition);
  }
  if (o.trust_network == "identity") {
    request.set_trust_network(v1::UpdateAlertRequest::FOR_IDENTITY);
  } else if (o.trust_network == "account") {
    request.set_trust_network(v1::UpdateAlertRequest::FOR_ACCOUNT);
  } else if (!o.trust_network.empty()) {
    std::fprintf(stderr, "trailsentry triage: --trust_network: identity or account\n");
    return kExitUsage;
  }
  if (o.assignee) request.set_assignee(*o.assignee);
  request.set_note(o.note);
  request.set_author(o.author);
  auto client = Connect(server);
  if (!client.ok()) return Fail("triage", client.status());
  absl::StatusOr<v1::Alert> alert = (*client)->UpdateAlert(request);
  if (!alert.ok()) return Fail("triage", alert.status());
  PrintJson(*alert);
  return kExitOk;
}

int RunWatch(const Client::Options& server, const WatchOptions& o) {
  v1::WatchAlertsRequest request;
  request.set_after_sequence(o.after);
  request.set_from_now(o.from_now);
  auto client = Connect(server);
  if (!client.ok()) return Fail("watch", client.status());
  grpc::ClientContext context;
  int printed = 0;
  absl::Status s = (*client)->WatchAlerts(request, context, [&](const v1::AlertChange& change) {
    if (o.ocsf) {
      std::fprintf(stdout, "%s\n", engine::OcsfJson(change).c_str());
    } else {
      PrintJson(change);
    }
    std::fflush(stdout);
    return o.limit <= 0 || ++printed < o.limit;
  });
  if (!s.ok()) return Fail("watch", s);
  return kExitOk;
}

int RunForget(const Client::Options& server, const std::string& identity) {
  auto client = Connect(server);
  if (!client.ok()) return Fail("forget", client.status());
  if (absl::Status s = (*client)->ForgetIdentity(identity); !s.ok()) return Fail("forget", s);
  std::fprintf(stderr, "trailsentry forget: %s forgotten\n", identity.c_str());
  return kExitOk;
}

}  // namespace trailsentry::cli
