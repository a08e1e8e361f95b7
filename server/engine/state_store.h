// The storage interfaces the engine owns: what it reads when an identity or
// account is first needed, and what it writes as state changes.
// storage/ implements them on RocksDB; the engine works without them (state in
// memory only) when none is given.
//
//   engine->Evaluate(tenant, event, changes, &writer);   // writer batches a request
//   store->Commit(writer);                               // one WriteBatch
#ifndef TRAILSENTRY_SERVER_ENGINE_STATE_STORE_H_
#define TRAILSENTRY_SERVER_ENGINE_STATE_STORE_H_

#include <cstdint>
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

// Where an event stands in an identity's event log (every accepted, non-late
// event has a record; a call both rules keep has two): kSeen only remembers its
// id for duplicate detection; kBurst holds a
// CLI discovery call the burst rule keeps; kUnusualIp a qualifying call of the
// unusual-source-IP rule (deleted when the rule prunes it, so what is stored is
// exactly what the rule holds).
enum class LogKind : char { kSeen = 'S', kBurst = 'B', kUnusualIp = 'U' };

// An event as the event log stores it. For kSeen only time and id_hash are set.
struct LoggedEvent {
  LogKind kind = LogKind::kSeen;
  EventTime time = 0;
  uint64_t id_hash = 0;  // identifies the event within its identity (EventIdHash)
  std::string event_id, action, provider, source_ip, region, user_agent, access_key_id, account;
  std::string identity_type, user_name;
};

// An event to log, as views valid during the PutEvent call.
struct EventLogEntry {
  LogKind kind = LogKind::kSeen;
  EventTime time = 0;
  uint64_t id_hash = 0;
  const AlertEventFields* fields = nullptr;  // kBurst and kUnusualIp only
  std::string_view identity_type, user_name;
};

// Who a trusted network (AddKnownNetwork) is trusted for; kHostile: a network
// marked hostile for the whole tenant (name ""), never learned, and every
// discovery call from it unusual (spec §3).
enum class TrustScope { kIdentity, kAccount, kHostile };

// A network trusted after triage, for an identity or a whole account: calls from
// it are never unusual while their event time is before `until`.
struct TrustedNetwork {
  static constexpr EventTime kForever = INT64_MAX;
  Network network;
  EventTime until = kForever;
  int64_t added_at = 0;  // server clock, Unix ms (0: not recorded)
  bool Covers(const IpAddress& ip, EventTime t) const { return t < until && network.Contains(ip); }
};

// Everything stored of an identity that decides its alerts.
struct StoredIdentity {
  std::optional<IdentityProfile> profile;
  std::vector<std::pair<Network, BaselineEntry>> networks;
  std::vector<TrustedNetwork> trusted;  // AddKnownNetwork for this identity
  // The event log: kSeen records no older than `seen_reach`, kBurst ones no older
  // than `burst_reach`, and every kUnusualIp record, each behind the identity's
  // newest logged event; in time order.
  std::vector<LoggedEvent> events;
  EventTime newest_logged = INT64_MIN;
  // Alerts those events may still change: open, not superseded, last event
  // within reach.
  std::vector<Alert> open_alerts;
};

// How far back LoadIdentity reads the event log and alerts, behind the newest.
struct LogReach {
  int64_t seen_ms = 0;
  int64_t burst_ms = 0;
  int64_t alerts_ms = 0;
};

class StateReader {
 public:
  virtual ~StateReader() = default;
  [[nodiscard]] virtual absl::StatusOr<StoredIdentity> LoadIdentity(std::string_view tenant,
                                                                    std::string_view identity,
                                                                    const LogReach& reach) = 0;
  // Absent entries come back with count 0.
  [[nodiscard]] virtual absl::StatusOr<BaselineEntry> LoadAccountBaseline(
      std::string_view tenant, std::string_view account, const Network& network) = 0;
  [[nodiscard]] virtual absl::StatusOr<std::vector<TrustedNetwork>> LoadTrusted(
      std::string_view tenant, TrustScope scope, std::string_view name) = 0;
  // Every tenant's hostile networks (they are few; held in memory whole).
  [[nodiscard]] virtual absl::StatusOr<std::vector<std::pair<std::string, TrustedNetwork>>>
  LoadHostile() = 0;
  // The changes of batches from this one on (by epoch, StateWriter::epoch)
  // may not be readable yet, though committed (a write-behind store applies
  // them later): the engine keeps what they changed in memory until then.
  virtual uint64_t AppliedBelow() const { return UINT64_MAX; }
  // The engine is dropping what it holds (after a failed batch) and will read
  // it back: from then on, reads must see every committed change.
  virtual void ReadingBack() {}
};

// Collects the writes of one batch (a request, or a stretch of a scan); nothing
// reaches disk until the owner commits them together. Every state change is
// written when it happens, so a committed batch leaves disk exactly where memory
// was; the writer keeps only the last value per key.
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
  // Adds the network, or replaces its entry (a new expiry).
  virtual void PutTrusted(std::string_view tenant, TrustScope scope, std::string_view name,
                          const TrustedNetwork& trusted) = 0;
  virtual void DeleteTrusted(std::string_view tenant, TrustScope scope, std::string_view name,
                             const Network& network) = 0;
  virtual void PutEvent(std::string_view tenant, std::string_view identity,
                        const EventLogEntry& event) = 0;
  virtual void DeleteEvent(std::string_view tenant, std::string_view identity, LogKind kind,
                           EventTime time, uint64_t id_hash) = 0;
  // Deletes everything stored for the identity but its alert history.
  virtual void DeleteIdentity(std::string_view tenant, std::string_view identity) = 0;
  // A hint: the identity's profile, its baseline and its account's baseline of
  // `network`, and its seen events, are about to be written.
  virtual void WillObserve(std::string_view /*tenant*/, std::string_view /*identity*/,
                           std::string_view /*account*/, const Network& /*network*/) {}

  // The engine's batch number (Engine::BeginBatch); 0 outside a batch.
  uint64_t epoch() const { return epoch_; }
  void set_epoch(uint64_t epoch) { epoch_ = epoch; }

 private:
  uint64_t epoch_ = 0;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_STATE_STORE_H_
