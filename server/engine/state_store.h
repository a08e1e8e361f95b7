// The storage interfaces the engine owns (DESIGN.md): what it reads when an
// identity or account is first needed, and what it writes as state changes.
// storage/ implements them on RocksDB; the engine works without them (state in
// memory only) when none is given.
//
//   engine->Evaluate(tenant, event, changes, &writer);   // writer batches a request
//   store->Commit(writer);                               // one WriteBatch
#ifndef TRAILSENTRY_SERVER_ENGINE_STATE_STORE_H_
#define TRAILSENTRY_SERVER_ENGINE_STATE_STORE_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/engine/alert.h"
#include "server/engine/baseline.h"
#include "server/engine/network.h"

namespace trailsentry::engine {

// An identity's persisted baseline state.
struct StoredIdentity {
  std::optional<IdentityProfile> profile;
  std::vector<std::pair<Network, BaselineEntry>> networks;
  std::vector<Network> trusted;  // AddKnownNetwork for this identity
};

// A CLI discovery call held by the burst rule, as the window log stores it so a
// burst that spans a restart still fires (once).
struct WindowLogEvent {
  EventTime time = 0;
  std::string event_id, action, provider, source_ip, region, user_agent, access_key_id, account;
  std::string identity_type, user_name;
};

// What the burst rule had of an identity before a restart.
struct StoredBurstState {
  std::vector<WindowLogEvent> events;  // within reach of new events, by time
  std::vector<Alert> open_alerts;      // burst alerts those events may still extend
};

// Who a trusted network (AddKnownNetwork) is trusted for.
enum class TrustScope { kIdentity, kAccount };

class StateReader {
 public:
  virtual ~StateReader() = default;
  [[nodiscard]] virtual absl::StatusOr<StoredIdentity> LoadIdentity(std::string_view tenant,
                                                                    std::string_view identity) = 0;
  // Absent entries come back with count 0.
  [[nodiscard]] virtual absl::StatusOr<BaselineEntry> LoadAccountBaseline(
      std::string_view tenant, std::string_view account, const Network& network) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<Network>> LoadTrusted(std::string_view tenant,
                                                                         TrustScope scope,
                                                                         std::string_view name) = 0;
  // The window log of the identity: events no older than `reach` before its
  // newest logged event, and the open burst alerts they may still extend.
  [[nodiscard]] virtual absl::StatusOr<StoredBurstState> LoadBurstState(std::string_view tenant,
                                                                        std::string_view identity,
                                                                        int64_t reach_ms) = 0;
};

// Collects the writes of one request (or one stretch of a scan); nothing reaches
// disk until the owner commits them together.
class StateWriter {
 public:
  virtual ~StateWriter() = default;
  virtual void PutProfile(std::string_view tenant, std::string_view identity,
                          const IdentityProfile& profile) = 0;
  virtual void PutBaseline(std::string_view tenant, std::string_view identity,
                           const Network& network, const BaselineEntry& entry) = 0;
  virtual void PutAccountBaseline(std::string_view tenant, std::string_view account,
                                  const Network& network, const BaselineEntry& entry) = 0;
  virtual void PutAlert(const Alert& alert) = 0;
  virtual void PutTrusted(std::string_view tenant, TrustScope scope, std::string_view name,
                          const Network& network) = 0;
  virtual void PutWindowEvent(std::string_view tenant, std::string_view identity,
                              const AlertEventFields& fields, std::string_view identity_type,
                              std::string_view user_name) = 0;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_STATE_STORE_H_
