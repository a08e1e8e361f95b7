#include "storage/internal/coalesced_writes.h"

#include <algorithm>
#include <cstring>

#include "storage/keys.h"

namespace trailsentry::storage::internal {

Owner LastOwner::Of(std::string_view tenant, std::string_view name) {
  if (!set_ || tenant != tenant_ || name != name_) {
    tenant_.assign(tenant);
    name_.assign(name);
    key_.clear();
    keys::AppendIdentity(key_, tenant, name);
    hash_ = engine::StableHash128Of(key_);
    set_ = true;
  }
  return {key_, hash_};
}

uint32_t CoalescedWrites::OwnerIndex(const Owner& owner) {
  const auto [it, added] =
      owner_index_.try_emplace(owner.hash, static_cast<uint32_t>(owners_.size()));
  if (added) {
    owners_.push_back({keys_.size(), static_cast<uint32_t>(owner.key.size())});
    keys_.append(owner.key);
    ranked_ = false;
  }
  return it->second;
}

void CoalescedWrites::RankOwners() {
  if (ranked_) return;
  // In key order: the memtable's skip list then finds each key's place from the
  // previous one's (its insert splice is reused) instead of from the top. The
  // only sort of keys' bytes, once per owner.
  std::vector<uint32_t>& by_key = next_;
  by_key.resize(owners_.size());
  for (uint32_t i = 0; i < owners_.size(); ++i) by_key[i] = i;
  std::sort(by_key.begin(), by_key.end(),
            [&](uint32_t a, uint32_t b) { return KeyOf(a) < KeyOf(b); });
  rank_.resize(owners_.size());
  for (uint32_t r = 0; r < by_key.size(); ++r) rank_[by_key[r]] = r;
  ranked_ = true;
}

engine::StableHash128 CoalescedWrites::EntryId(const engine::StableHash128& owner, char cf,
                                               std::string_view network) {
  char bytes[2 * sizeof(uint64_t) + 1 + sizeof(keys::NetworkBytes::bytes)];
  std::memcpy(bytes, &owner.high, sizeof owner.high);
  std::memcpy(bytes + sizeof owner.high, &owner.low, sizeof owner.low);
  bytes[2 * sizeof(uint64_t)] = cf;
  std::memcpy(bytes + 2 * sizeof(uint64_t) + 1, network.data(), network.size());
  return engine::StableHash128Of(
      std::string_view(bytes, 2 * sizeof(uint64_t) + 1 + network.size()));
}

void CoalescedWrites::PutLatest(char cf, const Owner& owner, const keys::NetworkBytes& network,
                                const engine::BaselineEntry& entry) {
  const auto [it, added] = latest_index_.try_emplace(EntryId(owner.hash, cf, network.view()),
                                                     static_cast<uint32_t>(latest_.size()));
  if (!added) {
    latest_[it->second].entry = entry;
    return;
  }
  Latest& l = latest_.emplace_back();
  l.owner = OwnerIndex(owner);
  l.cf = cf;
  l.network = network;
  l.entry = entry;
}

void CoalescedWrites::AddSeen(const Owner& owner, int64_t time, uint64_t id_hash) {
  const auto [it, added] = seen_index_.try_emplace(owner.hash, static_cast<uint32_t>(seen_.size()));
  if (added) seen_.emplace_back().owner = OwnerIndex(owner);
  ++seen_[it->second].pairs;
  pairs_.push_back({it->second, time, id_hash});
}

void CoalescedWrites::Drop(const Owner& owner, absl::FunctionRef<bool(char cf)> family) {
  const auto o = owner_index_.find(owner.hash);
  if (o == owner_index_.end()) return;  // nothing of it in this batch
  for (Latest& l : latest_) {
    if (l.dropped || l.owner != o->second || !family(l.cf)) continue;
    l.dropped = true;
    latest_index_.erase(EntryId(owner.hash, l.cf, l.network.view()));
  }
  const auto it = seen_index_.find(owner.hash);
  if (it != seen_index_.end()) {
    seen_[it->second].dropped = true;  // its pairs stay in pairs_, skipped
    seen_index_.erase(it);
  }
}

void CoalescedWrites::ForEachLatest(
    absl::FunctionRef<void(const LatestKey& key, const engine::BaselineEntry& entry)> fn) {
  RankOwners();
  order_.clear();
  for (uint32_t i = 0; i < latest_.size(); ++i) {
    const Latest& l = latest_[i];
    if (l.dropped) continue;
    order_.emplace_back(uint64_t{static_cast<uint8_t>(l.cf)} << 32 | rank_[l.owner], i);
  }
  // Column family, owner, then network (an owner's networks in one family).
  std::sort(order_.begin(), order_.end(), [&](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return latest_[a.second].network.view() < latest_[b.second].network.view();
  });
  for (const auto& [unused, i] : order_) {
    const Latest& l = latest_[i];
    fn(LatestKey{l.cf, KeyOf(l.owner), l.network.view()}, l.entry);
  }
}

void CoalescedWrites::ForEachSeen(
    absl::FunctionRef<void(std::string_view identity_key, std::span<const SeenEvent> seen)> fn) {
  // Each record's pairs, grouped in the order added (a counting sort).
  starts_.assign(seen_.size() + 1, 0);
  for (size_t i = 0; i < seen_.size(); ++i) starts_[i + 1] = starts_[i] + seen_[i].pairs;
  placed_.resize(pairs_.size());
  next_.assign(starts_.begin(), starts_.end() - 1);  // the next free place of each record
  for (uint32_t p = 0; p < pairs_.size(); ++p) placed_[next_[pairs_[p].record]++] = p;

  RankOwners();
  order_.clear();
  for (uint32_t i = 0; i < seen_.size(); ++i) {
    if (!seen_[i].dropped) order_.emplace_back(rank_[seen_[i].owner], i);
  }
  std::sort(order_.begin(), order_.end());  // one record per owner: ranks differ
  for (const auto& [unused, i] : order_) {
    sorted_.clear();
    for (uint32_t k = starts_[i]; k < starts_[i + 1]; ++k) {
      const SeenPair& pair = pairs_[placed_[k]];
      sorted_.push_back({pair.time, pair.id_hash});
    }
    std::sort(sorted_.begin(), sorted_.end());
    sorted_.erase(std::unique(sorted_.begin(), sorted_.end()), sorted_.end());
    fn(KeyOf(seen_[i].owner), sorted_);
  }
}

void CoalescedWrites::Clear() {
  keys_.clear();
  owners_.clear();
  latest_.clear();
  seen_.clear();
  pairs_.clear();
  ranked_ = false;
  // A large table's clear() frees it: reserving what the last batch held
  // allocates once instead of growing (and rehashing) step by step again.
  for (auto* index : {&owner_index_, &latest_index_, &seen_index_}) {
    const size_t size = index->size();
    index->clear();
    index->reserve(size);
  }
}

}  // namespace trailsentry::storage::internal
