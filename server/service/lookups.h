// Lookups and triage feedback behind GetIdentity, ListAlerts, GetAlert,
// UpdateAlert, AddKnownNetwork, ListKnownNetworks, RemoveKnownNetwork and
// ForgetIdentity: argument checks and conversions between the API messages and
// the engine and storage. The gRPC and HTTP handlers only call these.
//
//   absl::StatusOr<v1::IdentityProfile> p = GetIdentity(engine, db, tenant, request);
#ifndef TRAILSENTRY_SERVER_SERVICE_LOOKUPS_H_
#define TRAILSENTRY_SERVER_SERVICE_LOOKUPS_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "server/engine/engine.h"
#include "storage/database.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry::service {

[[nodiscard]] absl::StatusOr<v1::IdentityProfile> GetIdentity(
    engine::Engine& engine, storage::Database* db, std::string_view tenant,
    const v1::GetIdentityRequest& request);
[[nodiscard]] absl::StatusOr<v1::ListAlertsResponse> ListAlerts(
    storage::Database* db, std::string_view tenant, const v1::ListAlertsRequest& request);
[[nodiscard]] absl::StatusOr<v1::Alert> GetAlert(storage::Database* db, std::string_view tenant,
                                                 const v1::GetAlertRequest& request);
// Triage. Validates the request (a disposition exactly when resolving, sizes)
// and applies it; docs/soar.md.
// Resolving an unusual-IP alert feeds back into the baselines (spec §3).
[[nodiscard]] absl::StatusOr<v1::Alert> UpdateAlert(engine::Engine& engine, storage::Database* db,
                                                    std::string_view tenant,
                                                    const v1::UpdateAlertRequest& request);
[[nodiscard]] absl::StatusOr<v1::AddKnownNetworkResponse> AddKnownNetwork(
    engine::Engine& engine, storage::Database* db, std::string_view tenant,
    const v1::AddKnownNetworkRequest& request);
[[nodiscard]] absl::StatusOr<v1::ListKnownNetworksResponse> ListKnownNetworks(
    engine::Engine& engine, std::string_view tenant, const v1::ListKnownNetworksRequest& request);
[[nodiscard]] absl::StatusOr<v1::RemoveKnownNetworkResponse> RemoveKnownNetwork(
    engine::Engine& engine, storage::Database* db, std::string_view tenant,
    const v1::RemoveKnownNetworkRequest& request);
[[nodiscard]] absl::StatusOr<v1::ForgetIdentityResponse> ForgetIdentity(
    engine::Engine& engine, storage::Database* db, std::string_view tenant,
    const v1::ForgetIdentityRequest& request);

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_LOOKUPS_H_
