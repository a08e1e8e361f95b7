#include "server/service/lookups.h"

#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/alert_proto.h"
#include "storage/transaction.h"

namespace trailsentry::service {
namespace {

constexpr int kRecentAlerts = 10;

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
  out.set_recent_discovery_calls(static_cast<int32_t>(view->recent_discovery_calls));
  for (const std::string& a : view->recent_discovery_actions) out.add_recent_discovery_actions(a);
  for (const engine::Alert& a : view->open_alerts) engine::ToProto(a, out.add_open_alerts());
  return out;
}

absl::StatusOr<v1::ListAlertsResponse> ListAlerts(storage::Database* db, std::string_view tenant,
                                                  const v1::ListAlertsRequest& request) {
  if (db == nullptr) return absl::FailedPreconditionError("no data directory: no alert history");
  storage::AlertQuery q;
  q.tenant = std::string(tenant);
  q.identity = request.identity();
  q.rule_id = request.rule_id();
  if (!q.rule_id.empty() && q.rule_id != engine::kBurstRuleId &&
      q.rule_id != engine::kUnusualIpRuleId) {
    return absl::InvalidArgumentError(absl::StrCat("rule_id: unknown rule \"", q.rule_id, "\""));
  }
  if (request.has_since()) q.since = Millis(request.since());
  if (request.has_until()) q.until = Millis(request.until());
  if (q.since >= q.until) return absl::InvalidArgumentError("since: must be before until");
  if (request.page_size() < 0 || request.page_size() > 1000) {
    return absl::InvalidArgumentError("page_size: must be 0..1000 (0: 100)");
  }
  q.page_size = request.page_size() == 0 ? 100 : request.page_size();
  q.page_token = request.page_token();
  absl::StatusOr<storage::AlertPage> page = db->ListAlerts(q);
  if (!page.ok()) return page.status();
  v1::ListAlertsResponse out;
  for (v1::Alert& a : page->alerts) *out.add_alerts() = std::move(a);
  out.set_next_page_token(page->next_page_token);
  return out;
}

absl::StatusOr<v1::AddKnownNetworkResponse> AddKnownNetwork(
    engine::Engine& engine, storage::Database* db, std::string_view tenant,
    const v1::AddKnownNetworkRequest& request) {
  absl::StatusOr<engine::Network> network = engine::Network::ParseCidr(request.cidr());
  if (!network.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cidr: ", network.status().message()));
  }
  engine::TrustScope scope;
  std::string name;
  switch (request.scope_case()) {
    case v1::AddKnownNetworkRequest::kIdentity:
      if (absl::Status s = CheckIdentityArg(request.identity()); !s.ok()) return s;
      scope = engine::TrustScope::kIdentity;
      name = request.identity();
      break;
    case v1::AddKnownNetworkRequest::kAccountId:
      if (request.account_id().empty()) return absl::InvalidArgumentError("account_id: empty");
      scope = engine::TrustScope::kAccount;
      name = request.account_id();
      break;
    default:
      return absl::InvalidArgumentError("set identity or account_id");
  }
  storage::Transaction tx(engine, db);
  if (absl::Status s = engine.TrustNetwork(tenant, scope, name, *network, tx.writer()); !s.ok()) {
    return s;
  }
  if (absl::Status s = tx.Commit(); !s.ok()) return s;
  v1::AddKnownNetworkResponse out;
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
