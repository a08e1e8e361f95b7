// AccountBaselines: the per-account source-network baselines (spec §3), shared by
// every identity of an account, cached in memory in front of the StateReader.
//
// Sharded by (tenant, account) with a mutex per shard; callers may hold an
// identity shard's lock while calling in (never the other way round).
//
//   AccountBaselines accounts(config, reader);
//   BaselineEntry e = accounts.Get(tenant, account, network);
//   accounts.Observe(tenant, account, network, t, writer);
#ifndef TRAILSENTRY_SERVER_ENGINE_ACCOUNT_BASELINES_H_
#define TRAILSENTRY_SERVER_ENGINE_ACCOUNT_BASELINES_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "server/engine/baseline.h"
#include "server/engine/config.h"
#include "server/engine/ip_address.h"
#include "server/engine/mutex.h"
#include "server/engine/network.h"
#include "server/engine/stable_hash.h"
#include "server/engine/state_store.h"

namespace trailsentry::engine {

class AccountBaselines {
 public:
  // `reader` may be null (state in memory only). At most `max_entries` are
  // cached; beyond, entries whose changes are committed (their last batch is
  // below `*committed_below`, the engine's oldest batch in flight) are dropped
  // and read back on need.
  AccountBaselines(const Config& config, StateReader* reader, size_t max_entries,
                   const std::atomic<uint64_t>* committed_below);
  AccountBaselines(const AccountBaselines&) = delete;
  AccountBaselines& operator=(const AccountBaselines&) = delete;

  // The account's entry for `network` (count 0: absent). Fails only on a
  // storage read error.
  [[nodiscard]] absl::StatusOr<BaselineEntry> Get(std::string_view tenant, std::string_view account,
                                                  const Network& network);
  // Records an observation and writes the entry through `writer`.
  [[nodiscard]] absl::Status Observe(std::string_view tenant, std::string_view account,
                                     const Network& network, EventTime t, StateWriter* writer);
  // Overwrites an entry (triage feedback), writing it through `writer`.
  [[nodiscard]] absl::Status Set(std::string_view tenant, std::string_view account,
                                 const Network& network, const BaselineEntry& entry,
                                 StateWriter* writer);

  // Networks trusted for the whole account after triage (AddKnownNetwork):
  // whether one covers `ip` at event time `t`; add or replace one; remove one
  // (false when it was not trusted); the list.
  bool IsTrusted(std::string_view tenant, std::string_view account, const IpAddress& ip,
                 EventTime t);
  [[nodiscard]] absl::Status Trust(std::string_view tenant, std::string_view account,
                                   const TrustedNetwork& trusted, StateWriter* writer);
  bool Untrust(std::string_view tenant, std::string_view account, const Network& network,
               StateWriter* writer);
  std::vector<TrustedNetwork> Trusted(std::string_view tenant, std::string_view account);

  // Drops every committed entry (EvictCommitted), or every entry (Clear, after
  // a failed batch: memory must come back to what disk holds).
  void EvictCommitted();
  void Clear();

  size_t cached() const;

 private:
  struct Cached {
    BaselineEntry entry;
    uint64_t dirty_epoch = 0;  // the last batch that changed it
  };
  struct Shard {
    mutable Mutex mu;
    absl::flat_hash_map<StableHash128, Cached> entries ABSL_GUARDED_BY(mu);
    // key: tenant \0 account
    absl::flat_hash_map<std::string, std::vector<TrustedNetwork>> trusted ABSL_GUARDED_BY(mu);
  };
  Shard& TrustShard(std::string_view tenant, std::string_view account);
  std::vector<TrustedNetwork>* TrustedList(Shard& shard, std::string_view tenant,
                                           std::string_view account)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  static constexpr int kShards = 16;

  absl::StatusOr<Cached*> Find(Shard& shard, const StableHash128& key, std::string_view tenant,
                               std::string_view account, const Network& network)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  bool Evictable(const Cached& c) const;

  const Config& config_;
  StateReader* const reader_;
  const size_t max_per_shard_;
  const std::atomic<uint64_t>* const committed_below_;
  std::array<Shard, kShards> shards_;
};

// "tenant\0a\0network" keys and the Network's binary form, shared with the cache.
std::string NetworkBytes(const Network& network);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_ACCOUNT_BASELINES_H_
