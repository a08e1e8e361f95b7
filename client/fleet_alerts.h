// ListAlertsAcross: one alert list over account-sharded replicas (each holds
// its own accounts' alerts), newest first, paged with one token.
//
// Each replica's own order is kept (its alerts are taken in the order it lists
// them); replicas' lists are merged by window start, then alert id, newest
// first. The page token records, for each replica, its own page token and how
// many alerts of that page were already given, so no alert is skipped or given
// twice across pages (as with one replica, alerts opened meanwhile before a
// page's position are not seen). updated_since is not supported across replicas.
//
//   std::vector<Client*> replicas = ...;
//   absl::StatusOr<v1::ListAlertsResponse> page = ListAlertsAcross(replicas, request);
#ifndef TRAILSENTRY_CLIENT_FLEET_ALERTS_H_
#define TRAILSENTRY_CLIENT_FLEET_ALERTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/client.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry {

[[nodiscard]] absl::StatusOr<v1::ListAlertsResponse> ListAlertsAcross(
    const std::vector<Client*>& replicas, const v1::ListAlertsRequest& request);

// The replicas named: "host:port" as given; "dns:NAME:PORT" is every address
// NAME resolves to (a Kubernetes headless service lists its pods), each with
// PORT, sorted, so every page of a listing asks the same replicas in the same
// order. NOT_FOUND naming NAME when it resolves to nothing.
[[nodiscard]] absl::StatusOr<std::vector<std::string>> ResolveReplicas(
    const std::vector<std::string>& names);

}  // namespace trailsentry

#endif  // TRAILSENTRY_CLIENT_FLEET_ALERTS_H_
