// Engine: evaluates CloudTrail events against the detection rules (spec §1-§2).
//
// Thread-safe. State is sharded by (tenant, identity) hash, each shard behind its
// own mutex, so requests for different identities run in parallel and no lock is
// global. Deterministic given its inputs; no I/O.
//
//   auto engine = Engine::Create(config).value();
//   std::vector<AlertChange> changes;
//   Verdict v = engine->Evaluate("default", event, changes);
#ifndef TRAILSENTRY_SERVER_ENGINE_ENGINE_H_
#define TRAILSENTRY_SERVER_ENGINE_ENGINE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "server/engine/account_baselines.h"
#include "server/engine/burst_window.h"
#include "server/engine/config.h"
#include "server/engine/event.h"
#include "server/engine/event_classifier.h"
#include "server/engine/identity_baseline.h"
#include "server/engine/state_store.h"
#include "server/engine/string_pool.h"

namespace trailsentry::engine {

// Verdict flags (spec §4); bit values are 1 << the proto enum value.
enum VerdictFlag : uint32_t {
  kDiscovery = 1u << 1,
  kCli = 1u << 2,
  kExcluded = 1u << 3,
  kLate = 1u << 4,
  kUnattributable = 1u << 5,
  kLearning = 1u << 6,
  kUnusualNetwork = 1u << 7,
  kDuplicate = 1u << 8,
};

struct Verdict {
  uint32_t flags = 0;
  Exclusion exclusion = Exclusion::kNone;
  // Valid until the next Evaluate on this thread.
  std::string_view identity;
  // The alerts this event opened or updated, per rule; empty when none.
  std::string burst_alert_id;
  std::string unusual_ip_alert_id;
  // A storage read failed while judging this event (it was judged on what the
  // cache held); the service reports it.
  absl::Status storage;
};

// An identity as GetIdentity shows it.
struct IdentityView {
  std::string identity;
  IdentityProfile profile;  // count 0: never observed
  bool mature = false;      // at the identity's newest event
  EventTime newest = 0;     // newest event time seen (0: none since start)
  std::vector<KnownNetwork> networks;
  // Recent CLI discovery activity still held for the burst rule.
  size_t recent_discovery_calls = 0;
  std::vector<std::string> recent_discovery_actions;
  std::vector<Alert> open_alerts;  // open in memory (both rules)
};

struct EngineStats {
  size_t identities = 0;
  size_t retained_events = 0;
  size_t pooled_strings = 0;
  size_t baselines_loaded = 0;
  size_t account_entries_cached = 0;
};

// Two independent 64-bit hashes of "tenant\0identity". A collision of both
// (2^-128 per pair) would merge two identities' state; it is treated as impossible.
struct IdentityHash {
  uint64_t high = 0, low = 0;
  friend bool operator==(const IdentityHash&, const IdentityHash&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const IdentityHash& k) {
    return H::combine(std::move(h), k.low);
  }
};

// What the engine keeps of one identity. The newest event time sits in the map
// slot, so the common event (not a burst candidate) touches no other memory; the
// burst window exists only once the identity makes a CLI discovery call.
struct IdentitySlot {
  EventTime newest = INT64_MIN;
  std::unique_ptr<BurstWindow> window;
  std::unique_ptr<IdentityBaseline> baseline;  // loaded on the first event with an IP
};

class Engine {
 public:
  static constexpr int kShards = 64;

  // `reader` (may be null: state in memory only) loads baselines on first use;
  // it must outlive the engine.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Engine>> Create(
      const Config& config, StateReader* reader = nullptr);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Evaluates one parsed event for `tenant`. Alerts it opens or updates are
  // appended to `changes` (copies, in the order they changed); state changes to
  // persist go to `writer` (may be null).
  Verdict Evaluate(std::string_view tenant, const Event& event, std::vector<AlertChange>& changes,
                   StateWriter* writer = nullptr);

  // On-demand lookups and triage feedback.
  [[nodiscard]] absl::StatusOr<IdentityView> GetIdentity(std::string_view tenant,
                                                         std::string_view identity);
  [[nodiscard]] absl::Status TrustNetwork(std::string_view tenant, TrustScope scope,
                                          std::string_view name, const Network& network,
                                          StateWriter* writer);
  // Drops the identity's in-memory state (the caller deletes what is stored).
  void ForgetIdentity(std::string_view tenant, std::string_view identity);
  // Writes every baseline change that write coalescing held back.
  void FlushPending(StateWriter* writer);

  const Config& config() const { return config_; }
  EngineStats Stats() const;

 private:
  struct Shard {
    mutable std::mutex mu;  // std::mutex: no deadlock-detection cost per lock
    // Keyed by a 128-bit hash of (tenant, identity): the slot holds the whole key,
    // so a lookup compares 16 bytes in place instead of chasing a string.
    absl::flat_hash_map<IdentityHash, IdentitySlot> identities ABSL_GUARDED_BY(mu);
    StringPool pool ABSL_GUARDED_BY(mu);
    EventTime newest ABSL_GUARDED_BY(mu) = INT64_MIN;
    uint64_t evaluated ABSL_GUARDED_BY(mu) = 0;
    EventTime last_sweep ABSL_GUARDED_BY(mu) = INT64_MIN / 2;
  };

  Engine(const Config& config, StateReader* reader, std::vector<Network> allowlist);
  void EvictIdle(Shard& shard, StateWriter* writer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  Shard& ShardFor(std::string_view tenant, std::string_view identity, IdentityHash& key);
  absl::Status LoadBaseline(std::string_view tenant, std::string_view identity, IdentitySlot& slot);
  // Everything stored of an identity seen for the first time since start:
  // baselines, and the burst window log (restored silently).
  absl::Status LoadIdentity(std::string_view tenant, std::string_view identity, IdentitySlot& slot,
                            Shard& shard);

  const Config config_;
  const EventClassifier classifier_;
  // An identity idle (in event time) for longer than this can no longer change
  // any episode: max_lateness + window + suppression.
  const int64_t max_lateness_;  // milliseconds
  const int64_t idle_limit_;
  StateReader* const reader_;
  const std::vector<Network> allowlist_;
  std::unique_ptr<AccountBaselines> accounts_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_ENGINE_H_
