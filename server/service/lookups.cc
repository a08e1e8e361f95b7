#include "server/service/lookups.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert_proto.h"
#include "storage/transaction.h"

namespace trailsentry::service {
namespace {

constexpr int kRecentAlerts = 10;
constexpr size_t kMaxTriageName = 256;
constexpr size_t kMaxNoteBytes = 4096;
constexpr int kMaxNotes = 100;

absl::Status CheckIdentityArg(std::string_view identity) {
  if (identity.empty()) return absl::InvalidArgumentError("identity: empty");
  if (identity.size() > 2048) return absl::InvalidArgumentError("identity: longer than 2048 bytes");
  return absl::OkStatus();
}

int64_t Millis(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000 + t.nanos() / 1000000;
}

}  // namespace

absl::StatusOr<v1::IdentityProfile> GetIdentity(engine::Engine& engine, storage::Database* db,
                                                std::string_view tenant,
                                                const v1::GetIdentityRequest& request) {
  if (absl::Status s = CheckIdentityArg(request.identity()); !s.ok()) return s;
  absl::StatusOr<engine::IdentityView> view = engine.GetIdentity(tenant, request.identity());
  if (!view.ok()) return view.status();
  v1::IdentityProfile out;
  if (db != nullptr) {
    storage::AlertQuery q;
    q.tenant = std::string(tenant);
    q.identity = request.identity();
    q.page_size = kRecentAlerts;
    absl::StatusOr<storage::AlertPage> page = db->ListAlerts(q);
    if (!page.ok()) return page.status();
    for (v1::Alert& a : page->alerts) *out.add_recent_alerts() = std::move(a);
  }
  if (view->profile.count == 0 && view->networks.empty() && view->open_alerts.empty() &&
      view->recent_discovery_calls == 0 && out.recent_alerts_size() == 0) {
    return absl::NotFoundError(absl::StrCat("identity \"", request.identity(),
                                            "\" has never been seen (tenant \"", AbslView(tenant),
                                            "\")"));
  }
  const engine::Config& config = engine.config();
  out.set_identity(view->identity);
  if (view->profile.count > 0) {
    *out.mutable_first_seen() = engine::ToTimestamp(view->profile.first_seen);
    *out.mutable_last_seen() = engine::ToTimestamp(view->profile.last_seen);
    *out.mutable_mature_at() = engine::ToTimestamp(
        view->profile.first_seen + absl::ToInt64Milliseconds(config.unusual_ip.learning));
  }
  out.set_event_count(view->profile.count);
  out.set_mature(view->mature);
  for (const engine::KnownNetwork& n : view->networks) {
    v1::KnownNetwork* kn = out.add_networks();
    kn->set_network(n.network);
    if (n.entry.count > 0) {
      *kn->mutable_first_seen() = engine::ToTimestamp(n.entry.first_seen);
      *kn->mutable_last_seen() = engine::ToTimestamp(n.entry.last_seen);
    }
    kn->set_count(n.entry.count);
    kn->set_known(n.known);
    kn->set_trusted(n.trusted);
  }
  // Inside a hostile network: never known (spec §3).
  absl::StatusOr<std::vector<engine::TrustedNetwork>> hostile =
      engine.TrustedNetworks(tenant, engine::TrustScope::kHostile, "");
  if (!hostile.ok()) return hostile.status();
  for (v1::KnownNetwork& kn : *out.mutable_networks()) {
    absl::StatusOr<engine::Network> n = engine::Network::ParseCidr(kn.network());
    for (const engine::TrustedNetwork& h : *hostile) {
      if (n.ok() && h.network.prefix() <= n->prefix() && h.network.Contains(n->address())) {
        kn.set_hostile(true);
        kn.set_known(false);
      }
    }
  }
  out.set_recent_discovery_calls(static_cast<int32_t>(view->recent_discovery_calls));
  for (const std::string& a : view->recent_discovery_actions) out.add_recent_discovery_actions(a);
  for (const engine::Alert& a : view->open_alerts) {
    v1::Alert* alert = out.add_open_alerts();
    engine::ToProto(a, alert);
    if (db != nullptr) {
      if (absl::Status s = db->Decorate(tenant, *alert); !s.ok()) return s;
    }
  }
  return out;
}

absl::StatusOr<v1::ListAlertsResponse> ListAlerts(storage::Database* db, std::string_view tenant,
                                                  const v1::ListAlertsRequest& request) {
  if (db == nullptr) return absl::FailedPreconditionError("no data directory: no alert history");
  const std::string& rule_id = request.rule_id();
  if (!rule_id.empty() && rule_id != engine::kBurstRuleId && rule_id != engine::kUnusualIpRuleId) {
    return absl::InvalidArgumentError(absl::StrCat("rule_id: unknown rule \"", rule_id, "\""));
  }
  if (!v1::Alert::Status_IsValid(request.status())) {
    return absl::InvalidArgumentError(absl::StrCat("status: unknown value ", request.status()));
  }
  if (request.page_size() < 0 || request.page_size() > 1000) {
    return absl::InvalidArgumentError("page_size: must be 0..1000 (0: 100)");
  }
  const int page_size = request.page_size() == 0 ? 100 : request.page_size();
  absl::StatusOr<storage::AlertPage> page;
  if (request.has_updated_since()) {
    if (request.has_since() || request.has_until() || !request.identity().empty()) {
      return absl::InvalidArgumentError(
          "updated_since: lists by last change; it does not combine with since, until or "
          "identity");
    }
    storage::ChangedAlertQuery q;
    q.tenant = std::string(tenant);
    q.updated_since = Millis(request.updated_since());
    q.rule_id = rule_id;
    q.status = request.status();
    q.page_size = page_size;
    q.page_token = request.page_token();
    page = db->ListChangedAlerts(q);
  } else {
    storage::AlertQuery q;
    q.tenant = std::string(tenant);
    q.identity = request.identity();
    q.rule_id = rule_id;
    q.status = request.status();
    if (request.has_since()) q.since = Millis(request.since());
    if (request.has_until()) q.until = Millis(request.until());
    if (q.since >= q.until) return absl::InvalidArgumentError("since: must be before until");
    q.page_size = page_size;
    q.page_token = request.page_token();
    page = db->ListAlerts(q);
  }
  if (!page.ok()) return page.status();
  v1::ListAlertsResponse out;
  for (v1::Alert& a : page->alerts) *out.add_alerts() = std::move(a);
  out.set_next_page_token(page->next_page_token);
  return out;
}

absl::StatusOr<v1::Alert> GetAlert(storage::Database* db, std::string_view tenant,
                                   const v1::GetAlertRequest& request) {
  if (db == nullptr) return absl::FailedPreconditionError("no data directory: no alert history");
  if (request.alert_id().empty()) return absl::InvalidArgumentError("alert_id: empty");
  absl::StatusOr<std::optional<v1::Alert>> alert = db->GetAlert(tenant, request.alert_id());
  if (!alert.ok()) return alert.status();
  if (!alert->has_value()) {
    return absl::NotFoundError(absl::StrCat("alert_id: no alert \"", request.alert_id(),
                                            "\" (tenant \"", AbslView(tenant), "\")"));
  }
  return **std::move(alert);
}

absl::StatusOr<v1::Alert> UpdateAlert(engine::Engine& engine, storage::Database* db,
                                      std::string_view tenant,
                                      const v1::UpdateAlertRequest& request) {
  if (db == nullptr) return absl::FailedPreconditionError("no data directory: no alert history");
  if (request.alert_id().empty()) return absl::InvalidArgumentError("alert_id: empty");
  const v1::Alert::Status status = request.status();
  const v1::Alert::Disposition disposition = request.disposition();
  if (!v1::Alert::Status_IsValid(status)) {
    return absl::InvalidArgumentError(absl::StrCat("status: unknown value ", status));
  }
  if (!v1::Alert::Disposition_IsValid(disposition)) {
    return absl::InvalidArgumentError(absl::StrCat("disposition: unknown value ", disposition));
  }
  if (status == v1::Alert::RESOLVED && disposition == v1::Alert::DISPOSITION_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "disposition: required to resolve (TRUE_POSITIVE, FALSE_POSITIVE or BENIGN)");
  }
  if (status != v1::Alert::RESOLVED && disposition != v1::Alert::DISPOSITION_UNSPECIFIED) {
    return absl::InvalidArgumentError("disposition: only with status RESOLVED");
  }
  if (request.has_assignee() && request.assignee().size() > kMaxTriageName) {
    return absl::InvalidArgumentError(
        absl::StrCat("assignee: longer than ", kMaxTriageName, " bytes"));
  }
  if (request.author().size() > kMaxTriageName) {
    return absl::InvalidArgumentError(
        absl::StrCat("author: longer than ", kMaxTriageName, " bytes"));
  }
  if (request.note().size() > kMaxNoteBytes) {
    return absl::InvalidArgumentError(absl::StrCat("note: longer than ", kMaxNoteBytes, " bytes"));
  }
  if (status == v1::Alert::STATUS_UNSPECIFIED && !request.has_assignee() &&
      request.note().empty()) {
    return absl::InvalidArgumentError("nothing to change: set status, assignee or note");
  }
  const v1::UpdateAlertRequest::TrustNetwork trust = request.trust_network();
  if (!v1::UpdateAlertRequest::TrustNetwork_IsValid(trust)) {
    return absl::InvalidArgumentError(absl::StrCat("trust_network: unknown value ", trust));
  }
  if (trust != v1::UpdateAlertRequest::TRUST_NETWORK_UNSPECIFIED &&
      disposition != v1::Alert::FALSE_POSITIVE && disposition != v1::Alert::BENIGN) {
    return absl::InvalidArgumentError(
        "trust_network: only when resolving FALSE_POSITIVE or BENIGN");
  }
  // Feedback into the baselines first: a retry after a failure in between
  // applies it again, harmlessly.
  std::string feedback;
  if (disposition == v1::Alert::TRUE_POSITIVE ||
      trust != v1::UpdateAlertRequest::TRUST_NETWORK_UNSPECIFIED) {
    v1::GetAlertRequest get;
    get.set_alert_id(request.alert_id());
    absl::StatusOr<v1::Alert> alert = GetAlert(db, tenant, get);
    if (!alert.ok()) return alert.status();
    const bool unusual_ip = alert->rule_id() == engine::kUnusualIpRuleId;
    if (trust != v1::UpdateAlertRequest::TRUST_NETWORK_UNSPECIFIED && !unusual_ip) {
      return absl::InvalidArgumentError(
          "trust_network: only unusual-IP alerts have a network to trust");
    }
    if (unusual_ip) {
      v1::AddKnownNetworkRequest add;
      add.set_cidr(alert->network());
      if (disposition == v1::Alert::TRUE_POSITIVE) {
        add.set_hostile(true);
        add.set_force(true);  // the rule's own network size, whatever the minimum
        feedback = absl::StrCat("marked ", alert->network(), " hostile for the tenant");
      } else if (trust == v1::UpdateAlertRequest::FOR_IDENTITY) {
        add.set_identity(alert->identity());
        feedback = absl::StrCat("trusted ", alert->network(), " for ", alert->identity());
      } else {
        add.set_account_id(alert->account_ids_size() > 0 ? alert->account_ids(0) : "");
        feedback = absl::StrCat("trusted ", alert->network(), " for account ", add.account_id());
      }
      absl::StatusOr<v1::AddKnownNetworkResponse> added = AddKnownNetwork(engine, db, tenant, add);
      if (!added.ok()) {
        return absl::Status(added.status().code(),
                            absl::StrCat("trust_network: ", added.status().message()));
      }
    }
  }
  return db->UpdateAlert(
      tenant, request.alert_id(), [&](const v1::Alert& now, v1::Alert& triage) -> absl::Status {
        if (!request.note().empty() && now.notes_size() >= kMaxNotes) {
          return absl::FailedPreconditionError(absl::StrCat("note: alert ", now.alert_id(),
                                                            " already holds ", kMaxNotes,
                                                            " notes, the most it keeps"));
        }
        if (status != v1::Alert::STATUS_UNSPECIFIED) {
          triage.set_status(status);
          triage.set_disposition(disposition);  // cleared when reopened or acknowledged
        }
        if (request.has_assignee()) triage.set_assignee(request.assignee());
        if (!request.note().empty()) {
          v1::AlertNote* note = triage.add_notes();
          note->set_author(request.author());
          note->set_text(request.note());
          *note->mutable_time() = engine::ToTimestamp(absl::ToUnixMillis(absl::Now()));
        }
        if (!feedback.empty()) {  // what the resolution did to the baselines, on record
          v1::AlertNote* note = triage.add_notes();
          note->set_author(request.author());
          note->set_text(feedback);
          *note->mutable_time() = engine::ToTimestamp(absl::ToUnixMillis(absl::Now()));
        }
        return absl::OkStatus();
      });
}

namespace {

// Who a trust request is for: an identity or an account.
struct TrustTarget {
  engine::TrustScope scope;
  std::string name;
};

template <typename Request>
absl::StatusOr<TrustTarget> TargetOf(const Request& request) {
  if (request.scope_case() == Request::kIdentity) {
    if (absl::Status s = CheckIdentityArg(request.identity()); !s.ok()) return s;
    return TrustTarget{engine::TrustScope::kIdentity, request.identity()};
  }
  if (request.scope_case() == Request::kAccountId) {
    if (request.account_id().empty()) return absl::InvalidArgumentError("account_id: empty");
    if (request.account_id().size() > 256) {
      return absl::InvalidArgumentError("account_id: longer than 256 bytes");
    }
    return TrustTarget{engine::TrustScope::kAccount, request.account_id()};
  }
  if (request.scope_case() == Request::kHostile) {
    if (!request.hostile())
      return absl::InvalidArgumentError("hostile: set it to true, or leave it out");
    return TrustTarget{engine::TrustScope::kHostile, ""};
  }
  return absl::InvalidArgumentError("set identity, account_id or hostile");
}

absl::StatusOr<engine::Network> CidrOf(const std::string& cidr) {
  absl::StatusOr<engine::Network> network = engine::Network::ParseCidr(cidr);
  if (!network.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cidr: ", network.status().message()));
  }
  return network;
}

}  // namespace

absl::StatusOr<v1::AddKnownNetworkResponse> AddKnownNetwork(
    engine::Engine& engine, storage::Database* db, std::string_view tenant,
    const v1::AddKnownNetworkRequest& request) {
  absl::StatusOr<engine::Network> network = CidrOf(request.cidr());
  if (!network.ok()) return network.status();
  absl::StatusOr<TrustTarget> target = TargetOf(request);
  if (!target.ok()) return target.status();
  const auto& u = engine.config().unusual_ip;
  const bool v4 = network->address().is_v4();
  const int min_prefix = v4 ? u.min_trusted_prefix_v4 : u.min_trusted_prefix_v6;
  if (network->prefix() < min_prefix && !request.force()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cidr: ", network->ToString(), " is broader than /", min_prefix,
                     " (unusual_ip.", v4 ? "min_trusted_prefix_v4" : "min_trusted_prefix_v6",
                     target->scope == engine::TrustScope::kHostile
                         ? "): it would make every discovery call from it unusual; set force "
                           "to mark it anyway"
                         : "): it would hide every call from it; set force to trust it anyway"));
  }
  if (target->scope == engine::TrustScope::kIdentity && !request.force()) {
    v1::GetIdentityRequest get;
    get.set_identity(request.identity());
    absl::StatusOr<v1::IdentityProfile> seen = GetIdentity(engine, db, tenant, get);
    if (!seen.ok()) {
      if (seen.status().code() != absl::StatusCode::kNotFound) return seen.status();
      return absl::NotFoundError(absl::StrCat(
          seen.status().message(),
          "; check the key (an ARN, or <account>:<principalId>), or set force to trust the "
          "network before the identity's first call"));
    }
  }
  engine::TrustedNetwork trusted{*network};
  trusted.added_at = absl::ToUnixMillis(absl::Now());
  if (request.has_expires_at()) trusted.until = Millis(request.expires_at());
  storage::Transaction tx(engine, db);
  if (absl::Status s =
          engine.TrustNetwork(tenant, target->scope, target->name, trusted, tx.writer());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = tx.Commit(); !s.ok()) return s;
  v1::AddKnownNetworkResponse out;
  out.set_network(network->ToString());
  return out;
}

absl::StatusOr<v1::ListKnownNetworksResponse> ListKnownNetworks(
    engine::Engine& engine, std::string_view tenant, const v1::ListKnownNetworksRequest& request) {
  absl::StatusOr<TrustTarget> target = TargetOf(request);
  if (!target.ok()) return target.status();
  absl::StatusOr<std::vector<engine::TrustedNetwork>> trusted =
      engine.TrustedNetworks(tenant, target->scope, target->name);
  if (!trusted.ok()) return trusted.status();
  v1::ListKnownNetworksResponse out;
  for (const engine::TrustedNetwork& t : *trusted) {
    v1::TrustedNetwork* n = out.add_networks();
    n->set_network(t.network.ToString());
    if (t.added_at != 0) *n->mutable_added_at() = engine::ToTimestamp(t.added_at);
    if (t.until != engine::TrustedNetwork::kForever) {
      *n->mutable_expires_at() = engine::ToTimestamp(t.until);
    }
  }
  return out;
}

absl::StatusOr<v1::RemoveKnownNetworkResponse> RemoveKnownNetwork(
    engine::Engine& engine, storage::Database* db, std::string_view tenant,
    const v1::RemoveKnownNetworkRequest& request) {
  absl::StatusOr<engine::Network> network = CidrOf(request.cidr());
  if (!network.ok()) return network.status();
  absl::StatusOr<TrustTarget> target = TargetOf(request);
  if (!target.ok()) return target.status();
  storage::Transaction tx(engine, db);
  if (absl::Status s =
          engine.UntrustNetwork(tenant, target->scope, target->name, *network, tx.writer());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = tx.Commit(); !s.ok()) return s;
  v1::RemoveKnownNetworkResponse out;
  out.set_network(network->ToString());
  return out;
}

absl::StatusOr<v1::ForgetIdentityResponse> ForgetIdentity(
    engine::Engine& engine, storage::Database* db, std::string_view tenant,
    const v1::ForgetIdentityRequest& request) {
  v1::GetIdentityRequest get;
  get.set_identity(request.identity());
  absl::StatusOr<v1::IdentityProfile> existing = GetIdentity(engine, db, tenant, get);
  if (!existing.ok()) return existing.status();  // NOT_FOUND for an unknown identity
  // Memory and disk are forgotten in one batch: an Evaluate meanwhile either
  // comes before it or sees the identity afresh.
  storage::Transaction tx(engine, db);
  engine.ForgetIdentity(tenant, request.identity(), tx.writer());
  if (absl::Status s = tx.Commit(); !s.ok()) return s;
  return v1::ForgetIdentityResponse();
}

}  // namespace trailsentry::service
