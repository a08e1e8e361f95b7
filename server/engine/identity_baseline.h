// IdentityBaseline: one identity's source-network baseline and the rule
// `aws-discovery-unusual-source-ip` (spec §3) over it.
//
// Holds the identity's profile, its per-network baseline entries, networks
// trusted for it after triage, and for each unknown network the qualifying
// discovery calls still able to change an alert. Every alert is rebuilt from
// those calls, so its content depends on the set of calls, not their order.
// Each change is written through the context's writer as it happens (calls to
// the event log, pruned calls deleted from it), so the state read back after an
// eviction or a restart is exactly the state in memory.
//
//   IdentityBaseline b(profile, networks, trusted);
//   b.Restore(stored.events, stored.open_alerts, config, newest);
//   UnusualIpResult r = b.Evaluate(input, ctx);   // judge, then learn
#ifndef TRAILSENTRY_SERVER_ENGINE_IDENTITY_BASELINE_H_
#define TRAILSENTRY_SERVER_ENGINE_IDENTITY_BASELINE_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/engine/account_baselines.h"
#include "server/engine/alert.h"
#include "server/engine/baseline.h"
#include "server/engine/config.h"
#include "server/engine/hostile_networks.h"
#include "server/engine/ip_address.h"
#include "server/engine/network.h"
#include "server/engine/state_store.h"

namespace trailsentry::engine {

struct UnusualIpInput {
  AlertEventFields fields;
  uint64_t id_hash = 0;  // the event's id in the event log
  IpAddress ip;
  std::string_view identity_type;
  std::string_view user_name;
  bool discovery = false;
  bool failed = false;
};

struct UnusualIpContext {
  const Config* config = nullptr;
  std::string_view tenant;
  std::string_view identity;
  EventTime identity_newest = 0;
  const std::vector<Network>* allowlist = nullptr;  // unusual_ip.network_allowlist, parsed
  AccountBaselines* accounts = nullptr;
  StateWriter* writer = nullptr;  // may be null
  std::vector<AlertChange>* changes = nullptr;
  const HostileNetworks* hostile = nullptr;  // may be null: none
};

struct UnusualIpResult {
  bool learning = false;
  bool unusual = false;
  std::string alert_id;  // the alert this call opened or updated
  bool logged = false;   // the call was written to the event log (kUnusualIp)
  absl::Status status;   // a storage read failure; the verdict is still given
};

// A network of the identity as lookups show it.
struct KnownNetwork {
  std::string network;
  BaselineEntry entry;
  bool known = false;    // known at the identity's newest event time
  bool trusted = false;  // added by AddKnownNetwork
};

class IdentityBaseline {
 public:
  IdentityBaseline(std::optional<IdentityProfile> profile,
                   const std::vector<std::pair<Network, BaselineEntry>>& networks,
                   std::vector<TrustedNetwork> trusted);
  IdentityBaseline(const IdentityBaseline&) = delete;
  IdentityBaseline& operator=(const IdentityBaseline&) = delete;

  // Takes back the rule's calls (kUnusualIp records of the event log) and its
  // open alerts, as they were when the identity was last in memory.
  void Restore(const std::vector<LoggedEvent>& events, const std::vector<Alert>& open_alerts,
               const Config& config, EventTime newest);

  UnusualIpResult Evaluate(const UnusualIpInput& input, UnusualIpContext& ctx);

  // How far behind the identity's newest event a call or alert can still matter.
  static int64_t ReachMs(const Config& config);

  const IdentityProfile& profile() const { return profile_; }
  std::vector<KnownNetwork> Networks(const Config& config, EventTime now) const;
  // Open unusual-IP alerts still held in memory.
  std::vector<const Alert*> OpenAlerts() const;
  // Adds the network, or replaces its entry.
  void Trust(const TrustedNetwork& trusted);
  // False when the network was not trusted.
  bool Untrust(const Network& network);
  const std::vector<TrustedNetwork>& trusted() const { return trusted_; }

 private:
  struct NetworkState {
    Network network;
    BaselineEntry entry;
  };
  struct Call {
    EventTime time;
    uint64_t id_hash;
    std::string event_id, action, provider, source_ip, region, user_agent, access_key_id, account;
  };
  struct Candidate {
    Network network;
    // A call from a hostile network joined it: one discovery call fires.
    bool hostile = false;
    std::vector<Call> calls;  // sorted by (time, event id)
    std::vector<std::unique_ptr<Alert>> alerts;
  };

  // A stretch of calls: a count that fired (fired_at >= 0, spanning suppression,
  // and at least through the firing call) or one that did not (spanning settle).
  struct Segment {
    size_t begin, end;
    EventTime start;
    EventTime fired_at;
  };
  static std::vector<Segment> Segments(const Candidate& c, const Config& config);

  NetworkState* FindNetwork(const Network& network);
  Candidate& CandidateFor(const Network& network);
  bool IsKnown(const Network& network, const IpAddress& ip, EventTime t, std::string_view account,
               const UnusualIpContext& ctx) const;
  // Re-derives the candidate's alerts from its calls; reports what changed.
  absl::Status Rebuild(Candidate& c, const UnusualIpInput& input, UnusualIpContext& ctx,
                       std::string* alert_of_call);
  void Learn(const Network& network, EventTime t, UnusualIpContext& ctx);
  // Drops what no future call can reach, deleting dropped calls from the event
  // log through the context's writer (`ctx` may be null: restoring, nothing to
  // delete).
  void Prune(const Config& config, EventTime newest, const UnusualIpContext* ctx);
  static void InsertCall(Candidate& c, Call call);

  // Neither tenant nor identity is kept: callers pass them in the context, so a
  // cached identity holds its name once (issue 8: memory per cached identity).
  IdentityProfile profile_;
  std::vector<NetworkState> networks_;
  std::vector<TrustedNetwork> trusted_;
  std::vector<Candidate> candidates_;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_IDENTITY_BASELINE_H_
