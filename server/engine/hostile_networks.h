// HostileNetworks: networks marked hostile for a whole tenant (an unusual-IP
// alert resolved TRUE_POSITIVE, or AddKnownNetwork with `hostile`). A call from
// one is never learned into any baseline, and every discovery call from one is
// unusual, even while the identity is still learning (spec §3).
//
// They are few: held in memory whole, loaded at start. A lookup costs one
// atomic load while no tenant has any.
//
//   HostileNetworks hostile(reader);
//   absl::Status s = hostile.Load();
//   if (hostile.Covers(tenant, ip, event_time)) ...
#ifndef TRAILSENTRY_SERVER_ENGINE_HOSTILE_NETWORKS_H_
#define TRAILSENTRY_SERVER_ENGINE_HOSTILE_NETWORKS_H_

#include <atomic>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "server/engine/ip_address.h"
#include "server/engine/state_store.h"

namespace trailsentry::engine {

class HostileNetworks {
 public:
  explicit HostileNetworks(StateReader* reader) : reader_(reader) {}

  // (Re)reads every tenant's list; after a failed batch memory comes back to
  // what disk holds.
  [[nodiscard]] absl::Status Load();

  bool Covers(std::string_view tenant, const IpAddress& ip, EventTime t) const;
  // Adds the network (or replaces its expiry), writing it through `writer`.
  void Mark(std::string_view tenant, const TrustedNetwork& network, StateWriter* writer);
  // False when it was not marked.
  bool Unmark(std::string_view tenant, const Network& network, StateWriter* writer);
  std::vector<TrustedNetwork> List(std::string_view tenant) const;

 private:
  StateReader* const reader_;
  std::atomic<bool> any_{false};
  mutable std::shared_mutex mu_;  // guards by_tenant_
  absl::flat_hash_map<std::string, std::vector<TrustedNetwork>> by_tenant_;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_HOSTILE_NETWORKS_H_
