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
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "server/engine/baseline.h"
#include "server/engine/config.h"
#include "server/engine/ip_address.h"
#include "server/engine/network.h"
#include "server/engine/state_store.h"

namespace trailsentry::engine {

class AccountBaselines {
 public:
  // `reader` may be null (state in memory only). At most `max_entries` are
  // cached; beyond, entries are dropped (they are on disk) and reloaded on need.
  AccountBaselines(const Config& config, StateReader* reader, size_t max_entries);
  AccountBaselines(const AccountBaselines&) = delete;
  AccountBaselines& operator=(const AccountBaselines&) = delete;

  // The account's entry for `network` (count 0: absent). Fails only on a
  // storage read error.
  [[nodiscard]] absl::StatusOr<BaselineEntry> Get(std::string_view tenant, std::string_view account,
                                                  const Network& network);
  // Records an observation; writes the entry through `writer` when it is new,
  // restarts, or its last seen moved by the write granularity.
  [[nodiscard]] absl::Status Observe(std::string_view tenant, std::string_view account,
                                     const Network& network, EventTime t, StateWriter* writer);
  // Overwrites an entry (triage feedback), writing it through `writer`.
  [[nodiscard]] absl::Status Set(std::string_view tenant, std::string_view account,
                                 const Network& network, const BaselineEntry& entry,
                                 StateWriter* writer);

  // Networks trusted for the whole account after triage (AddKnownNetwork).
  bool IsTrusted(std::string_view tenant, std::string_view account, const IpAddress& ip);
  [[nodiscard]] absl::Status Trust(std::string_view tenant, std::string_view account,
                                   const Network& network, StateWriter* writer);

  // Writes what coalescing held back (see IdentityBaseline::FlushPending).
  void FlushPending(StateWriter* writer);

  size_t cached() const;

 private:
  struct Cached {
    Network network;
    BaselineEntry entry;
    bool dirty = false;
    EventTime persisted_last_seen = INT64_MIN;
    EventTime persisted_first_seen = INT64_MIN;
  };
  struct Shard {
    mutable std::mutex mu;
    absl::flat_hash_map<std::string, Cached> entries;  // key: tenant \0 account \0 network
    absl::flat_hash_map<std::string, std::vector<Network>> trusted;  // key: tenant \0 account
  };
  std::vector<Network>* TrustedList(Shard& shard, std::string_view tenant,
                                    std::string_view account);
  static constexpr int kShards = 16;

  absl::StatusOr<Cached*> Find(Shard& shard, const std::string& key, std::string_view tenant,
                               std::string_view account, const Network& network);

  const Config& config_;
  StateReader* const reader_;
  const size_t max_per_shard_;
  std::array<Shard, kShards> shards_;
};

// How far a cached last-seen may run ahead of the stored one before it is
// written again (history / 48: 5 h by default): steady traffic from known
// networks writes an entry a few times a day instead of per event. After a
// crash or eviction, a stored last seen (and count) may be this much behind, so
// an entry can count as expired up to this much early at the `history` edge.
int64_t LastSeenWriteGranularityMs(const Config& config);

// "tenant\0a\0network" keys and the Network's binary form, shared with the cache.
std::string NetworkBytes(const Network& network);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_ACCOUNT_BASELINES_H_
