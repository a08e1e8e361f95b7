// Engine: evaluates CloudTrail events against the detection rules (docs/spec.md).
//
// Thread-safe. State is sharded by (tenant, identity) hash, each shard behind its
// own mutex, so requests for different identities run in parallel and no lock is
// global. Deterministic given its inputs; no I/O.
//
// With a StateReader, memory is a cache of what is committed: every change is
// written through the batch's StateWriter as it happens, and an identity is
// evicted only once every batch that changed it has ended, so what is evicted
// (or read back after a restart) comes back exactly. Batches commit in the order
// they began; when one fails, every later one fails too and the cache is dropped,
// so memory is never ahead of disk.
//
//   auto engine = Engine::Create(config, &db).value();
//   engine->BeginBatch(writer);
//   Verdict v = engine->Evaluate("default", event, changes, &writer);
//   absl::Status s = engine->AwaitCommitTurn(writer);
//   if (s.ok()) s = db.Commit(writer);
//   engine->EndBatch(writer, s);
#ifndef TRAILSENTRY_SERVER_ENGINE_ENGINE_H_
#define TRAILSENTRY_SERVER_ENGINE_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <set>
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
#include "server/engine/hostile_networks.h"
#include "server/engine/identity_baseline.h"
#include "server/engine/mutex.h"
#include "server/engine/seen_events.h"
#include "server/engine/stable_hash.h"
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

// What the engine keeps of one identity; the burst window exists only once the
// identity makes a CLI discovery call.
struct IdentitySlot {
  EventTime newest = INT64_MIN;
  uint64_t dirty_epoch = 0;  // the last batch that changed it
  SeenEvents seen;
  std::unique_ptr<BurstWindow> window;
  std::unique_ptr<IdentityBaseline> baseline;
};

class Engine {
 public:
  static constexpr int kShards = 64;

  // `reader` (may be null: state in memory only, never evicted) loads an
  // identity's state on first use; it must outlive the engine.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<Engine>> Create(
      const Config& config, StateReader* reader = nullptr);
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Evaluates one parsed event for `tenant`. Alerts it opens or updates are
  // appended to `changes` (copies, in the order they changed); state changes to
  // persist go to `writer`, which must be in a batch (null only without a reader).
  Verdict Evaluate(std::string_view tenant, const Event& event, std::vector<AlertChange>& changes,
                   StateWriter* writer = nullptr);

  // Batches: every StateWriter that Evaluate, TrustNetwork or ForgetIdentity
  // writes through belongs to one. BeginBatch numbers it (waiting while the cache
  // is being dropped after a failure); AwaitCommitTurn waits until every earlier
  // batch has ended and says whether the batch may commit (not OK: an earlier one
  // failed, so this one saw state that never reached disk; the status is that
  // failure's cause); EndBatch says whether it committed, and if not why. A batch
  // that did not commit drops the whole cache once the batches in flight have
  // ended, so memory comes back to what disk holds.
  void BeginBatch(StateWriter& writer);
  [[nodiscard]] absl::Status AwaitCommitTurn(const StateWriter& writer);
  void EndBatch(const StateWriter& writer, const absl::Status& committed);

  // On-demand lookups and triage feedback.
  [[nodiscard]] absl::StatusOr<IdentityView> GetIdentity(std::string_view tenant,
                                                         std::string_view identity);
  // Trusts a network for an identity or an account (replacing its entry: a new
  // expiry), removes one (NOT_FOUND when it was not trusted), lists them.
  [[nodiscard]] absl::Status TrustNetwork(std::string_view tenant, TrustScope scope,
                                          std::string_view name, const TrustedNetwork& trusted,
                                          StateWriter* writer);
  [[nodiscard]] absl::Status UntrustNetwork(std::string_view tenant, TrustScope scope,
                                            std::string_view name, const Network& network,
                                            StateWriter* writer);
  [[nodiscard]] absl::StatusOr<std::vector<TrustedNetwork>> TrustedNetworks(std::string_view tenant,
                                                                            TrustScope scope,
                                                                            std::string_view name);
  // Forgets the identity: its state is deleted through `writer`, and in memory it
  // starts afresh (an event after this is its first).
  void ForgetIdentity(std::string_view tenant, std::string_view identity, StateWriter* writer);

  // Evicts every identity and account entry whose changes are all committed
  // (tests use it to force evictions at arbitrary moments). Returns how many
  // identities were evicted. Without a reader nothing is evicted.
  size_t EvictCommitted();

  const Config& config() const { return config_; }
  // How far back the engine reads an identity's event log and alerts.
  static LogReach Reach(const Config& config);
  EngineStats Stats() const;

 private:
  struct Shard {
    mutable Mutex mu;
    // Keyed by a 128-bit hash of (tenant, identity): the slot holds the whole key,
    // so a lookup compares 16 bytes in place instead of chasing a string.
    absl::flat_hash_map<StableHash128, IdentitySlot> identities ABSL_GUARDED_BY(mu);
    StringPool pool ABSL_GUARDED_BY(mu);
    EventTime newest ABSL_GUARDED_BY(mu) = INT64_MIN;
    uint64_t evaluated ABSL_GUARDED_BY(mu) = 0;
    EventTime last_sweep ABSL_GUARDED_BY(mu) = INT64_MIN / 2;
  };

  Engine(const Config& config, StateReader* reader, std::vector<Network> allowlist);
  // Evicts idle identities (all of them when `idle_limit` is 0) whose changes are
  // committed.
  size_t Evict(Shard& shard, int64_t idle_limit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  Shard& ShardFor(std::string_view tenant, std::string_view identity, StableHash128& key);
  // Fills a new slot with everything stored of the identity: profile, baselines,
  // trusted networks, the event log (duplicate ids, the rules' retained calls)
  // and the alerts those calls may still change (restored silently).
  absl::Status LoadIdentity(std::string_view tenant, std::string_view identity, IdentitySlot& slot,
                            Shard& shard);
  void MarkDirty(IdentitySlot& slot, const StateWriter* writer);
  // Drops every cached identity and account entry (after a failed batch).
  void DropCache();

  const Config config_;
  const EventClassifier classifier_;
  // An identity idle (in event time) for longer than this can no longer change
  // any episode: max_lateness + window + suppression.
  const int64_t max_lateness_;  // milliseconds
  const int64_t idle_limit_;
  // A shard sweeps out idle identities only while it holds more than this
  // (server.cached_identities spread over the shards).
  const size_t cached_per_shard_;
  const LogReach reach_;
  StateReader* const reader_;
  const std::vector<Network> allowlist_;
  std::unique_ptr<AccountBaselines> accounts_;
  std::unique_ptr<HostileNetworks> hostile_;
  std::unique_ptr<Shard[]> shards_;

  // Batches (see BeginBatch).
  Mutex batches_mu_;
  std::set<uint64_t> in_flight_ ABSL_GUARDED_BY(batches_mu_);
  uint64_t next_epoch_ ABSL_GUARDED_BY(batches_mu_) = 1;
  uint64_t failed_epoch_ ABSL_GUARDED_BY(batches_mu_) = 0;  // 0: none since the last drop
  absl::Status failed_cause_ ABSL_GUARDED_BY(batches_mu_);  // why failed_epoch_ failed
  // Every batch below this has ended: a change it made is committed (or dropped).
  std::atomic<uint64_t> min_in_flight_{1};
  // Stamps AlertChange::sequence (under the identity's shard lock).
  std::atomic<uint64_t> alert_changes_{0};
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_ENGINE_H_
