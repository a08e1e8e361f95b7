#include "server/engine/account_baselines.h"

#include "absl/hash/hash.h"
#include "server/engine/absl_view.h"
#include "server/engine/stable_hash.h"

namespace trailsentry::engine {
namespace {

// The cache key: a 128-bit hash of "tenant\0account\0network", built in a
// per-thread buffer (no allocation per lookup, 16 bytes per cached entry).
StableHash128 CacheKey(std::string_view tenant, std::string_view account, const Network& network) {
  thread_local std::string key;
  key.assign(tenant);
  key.push_back('\0');
  key.append(account);
  key.push_back('\0');
  const bool v4 = network.address().is_v4();
  key.push_back(static_cast<char>(v4 ? network.prefix() : 64 + network.prefix()));
  key.append(reinterpret_cast<const char*>(network.address().bytes().data()), v4 ? 4 : 16);
  return StableHash128Of(key);
}

}  // namespace

std::string NetworkBytes(const Network& network) {
  const int len = network.address().is_v4() ? 4 : 16;
  // One tag byte: the IPv4 prefix (0..32), or 64 + the IPv6 prefix (64..192).
  std::string out(
      1, static_cast<char>(network.address().is_v4() ? network.prefix() : 64 + network.prefix()));
  out.append(reinterpret_cast<const char*>(network.address().bytes().data()), len);
  return out;
}

AccountBaselines::AccountBaselines(const Config& config, StateReader* reader, size_t max_entries,
                                   const std::atomic<uint64_t>* committed_below)
    : config_(config),
      reader_(reader),
      max_per_shard_(std::max<size_t>(1, max_entries / kShards)),
      committed_below_(committed_below) {}

bool AccountBaselines::Evictable(const Cached& c) const {
  return reader_ != nullptr &&
         c.dirty_epoch < std::min(committed_below_->load(), reader_->AppliedBelow());
}

absl::StatusOr<AccountBaselines::Cached*> AccountBaselines::Find(Shard& shard,
                                                                 const StableHash128& key,
                                                                 std::string_view tenant,
                                                                 std::string_view account,
                                                                 const Network& network) {
  auto it = shard.entries.find(key);
  if (it != shard.entries.end()) return &it->second;
  Cached cached;
  if (reader_ != nullptr) {
    absl::StatusOr<BaselineEntry> stored = reader_->LoadAccountBaseline(tenant, account, network);
    if (!stored.ok()) return stored.status();
    cached.entry = *stored;
  }
  if (shard.entries.size() >= max_per_shard_) {
    // Drop a tenth of the cache: committed entries only.
    size_t drop = std::max<size_t>(1, max_per_shard_ / 10);
    for (auto e = shard.entries.begin(); e != shard.entries.end() && drop > 0;) {
      if (!Evictable(e->second)) {
        ++e;
        continue;
      }
      shard.entries.erase(e++);
      --drop;
    }
  }
  return &shard.entries.emplace(key, cached).first->second;
}

absl::StatusOr<BaselineEntry> AccountBaselines::Get(std::string_view tenant,
                                                    std::string_view account,
                                                    const Network& network) {
  const StableHash128 key = CacheKey(tenant, account, network);
  Shard& shard = shards_[key.high % kShards];
  MutexLock lock(&shard.mu);
  absl::StatusOr<Cached*> c = Find(shard, key, tenant, account, network);
  if (!c.ok()) return c.status();
  return (*c)->entry;
}

absl::Status AccountBaselines::Observe(std::string_view tenant, std::string_view account,
                                       const Network& network, EventTime t, StateWriter* writer) {
  const StableHash128 key = CacheKey(tenant, account, network);
  Shard& shard = shards_[key.high % kShards];
  MutexLock lock(&shard.mu);
  absl::StatusOr<Cached*> found = Find(shard, key, tenant, account, network);
  if (!found.ok()) return found.status();
  Cached& c = **found;
  engine::Observe(c.entry, t, absl::ToInt64Milliseconds(config_.unusual_ip.history));
  if (writer != nullptr) {
    writer->PutAccountBaseline(tenant, account, network, c.entry);
    c.dirty_epoch = std::max(c.dirty_epoch, writer->epoch());
  }
  return absl::OkStatus();
}

void AccountBaselines::EvictCommitted() {
  for (Shard& shard : shards_) {
    MutexLock lock(&shard.mu);
    absl::erase_if(shard.entries, [&](const auto& kv) { return Evictable(kv.second); });
  }
}

void AccountBaselines::Clear() {
  if (reader_ == nullptr) return;
  for (Shard& shard : shards_) {
    MutexLock lock(&shard.mu);
    shard.entries.clear();
    shard.trusted.clear();
  }
}

absl::Status AccountBaselines::Set(std::string_view tenant, std::string_view account,
                                   const Network& network, const BaselineEntry& entry,
                                   StateWriter* writer) {
  const StableHash128 key = CacheKey(tenant, account, network);
  Shard& shard = shards_[key.high % kShards];
  MutexLock lock(&shard.mu);
  absl::StatusOr<Cached*> found = Find(shard, key, tenant, account, network);
  if (!found.ok()) return found.status();
  (*found)->entry = entry;
  if (writer != nullptr) {
    writer->PutAccountBaseline(tenant, account, network, entry);
    (*found)->dirty_epoch = std::max((*found)->dirty_epoch, writer->epoch());
  }
  return absl::OkStatus();
}

std::vector<TrustedNetwork>* AccountBaselines::TrustedList(Shard& shard, std::string_view tenant,
                                                           std::string_view account) {
  std::string key(tenant);
  key.push_back('\0');
  key.append(account);
  auto it = shard.trusted.find(key);
  if (it != shard.trusted.end()) return &it->second;
  std::vector<TrustedNetwork> loaded;
  if (reader_ != nullptr) {
    absl::StatusOr<std::vector<TrustedNetwork>> stored =
        reader_->LoadTrusted(tenant, TrustScope::kAccount, account);
    if (stored.ok()) loaded = *std::move(stored);  // a read error trusts nothing more
  }
  return &shard.trusted.emplace(std::move(key), std::move(loaded)).first->second;
}

AccountBaselines::Shard& AccountBaselines::TrustShard(std::string_view tenant,
                                                      std::string_view account) {
  return shards_[absl::Hash<std::pair<absl::string_view, absl::string_view>>{}(
                     {AbslView(tenant), AbslView(account)}) %
                 kShards];
}

bool AccountBaselines::IsTrusted(std::string_view tenant, std::string_view account,
                                 const IpAddress& ip, EventTime t) {
  Shard& shard = TrustShard(tenant, account);
  MutexLock lock(&shard.mu);
  for (const TrustedNetwork& n : *TrustedList(shard, tenant, account)) {
    if (n.Covers(ip, t)) return true;
  }
  return false;
}

absl::Status AccountBaselines::Trust(std::string_view tenant, std::string_view account,
                                     const TrustedNetwork& trusted, StateWriter* writer) {
  Shard& shard = TrustShard(tenant, account);
  MutexLock lock(&shard.mu);
  std::vector<TrustedNetwork>* list = TrustedList(shard, tenant, account);
  auto it = std::find_if(list->begin(), list->end(),
                         [&](const TrustedNetwork& n) { return n.network == trusted.network; });
  if (it == list->end()) {
    list->push_back(trusted);
  } else {
    *it = trusted;
  }
  if (writer != nullptr) writer->PutTrusted(tenant, TrustScope::kAccount, account, trusted);
  return absl::OkStatus();
}

bool AccountBaselines::Untrust(std::string_view tenant, std::string_view account,
                               const Network& network, StateWriter* writer) {
  Shard& shard = TrustShard(tenant, account);
  MutexLock lock(&shard.mu);
  std::vector<TrustedNetwork>* list = TrustedList(shard, tenant, account);
  if (std::erase_if(*list, [&](const TrustedNetwork& n) { return n.network == network; }) == 0) {
    return false;
  }
  if (writer != nullptr) writer->DeleteTrusted(tenant, TrustScope::kAccount, account, network);
  return true;
}

std::vector<TrustedNetwork> AccountBaselines::Trusted(std::string_view tenant,
                                                      std::string_view account) {
  Shard& shard = TrustShard(tenant, account);
  MutexLock lock(&shard.mu);
  return *TrustedList(shard, tenant, account);
}

size_t AccountBaselines::cached() const {
  size_t n = 0;
  for (const Shard& s : shards_) {
    MutexLock lock(&s.mu);
    n += s.entries.size();
  }
  return n;
}

}  // namespace trailsentry::engine
