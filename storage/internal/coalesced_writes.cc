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

size_t CoalescedWrites::AddKey(std::initializer_list<std::string_view> parts) {
  const size_t offset = keys_.size();
  for (std::string_view part : parts) keys_.append(part);
  return offset;
}

template <typename Entry>
void CoalescedWrites::OrderByKey(const std::vector<Entry>& entries) {
  // In key order: the memtable's skip list then finds each key's place from the
  // previous one's (its insert splice is reused) instead of from the top.
  order_.clear();
  for (uint32_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].dropped) order_.push_back(i);
  }
  std::sort(order_.begin(), order_.end(), [&](uint32_t a, uint32_t b) {
    return KeyOf(entries[a].offset, entries[a].size) < KeyOf(entries[b].offset, entries[b].size);
  });
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
  l.offset = AddKey({std::string_view(&cf, 1), owner.key, network.view()});
  l.size = static_cast<uint32_t>(keys_.size() - l.offset);
  l.entry = entry;
}

void CoalescedWrites::AddSeen(const Owner& owner, int64_t time, uint64_t id_hash) {
  const auto [it, added] = seen_index_.try_emplace(owner.hash, static_cast<uint32_t>(seen_.size()));
  if (added) {
    Seen& s = seen_.emplace_back();
    s.offset = AddKey({owner.key});
    s.size = static_cast<uint32_t>(owner.key.size());
  }
  Seen& s = seen_[it->second];
  ++s.pairs;
  s.newest = std::max(s.newest, time);
  s.ids ^= id_hash;
  pairs_.push_back({it->second, time, id_hash});
}

void CoalescedWrites::Drop(const Owner& owner, absl::FunctionRef<bool(char cf)> family) {
  for (Latest& l : latest_) {
    if (l.dropped) continue;
    // cf | owner key | network: owner keys are length-prefixed components, so
    // a key that starts with the owner's key after its cf byte is the owner's.
    const std::string_view key = KeyOf(l.offset, l.size);
    if (!key.substr(1).starts_with(owner.key) || !family(key[0])) continue;
    l.dropped = true;
    latest_index_.erase(EntryId(owner.hash, key[0], key.substr(1 + owner.key.size())));
  }
  const auto it = seen_index_.find(owner.hash);
  if (it != seen_index_.end()) {
    seen_[it->second].dropped = true;  // its pairs stay in pairs_, skipped
    seen_index_.erase(it);
  }
}

void CoalescedWrites::ForEachLatest(
    absl::FunctionRef<void(std::string_view key, const engine::BaselineEntry& entry)> fn) {
  OrderByKey(latest_);
  for (const uint32_t i : order_) fn(KeyOf(latest_[i].offset, latest_[i].size), latest_[i].entry);
}

void CoalescedWrites::ForEachSeen(
    absl::FunctionRef<void(std::string_view identity_key, int64_t newest, uint64_t ids,
                           std::string_view packed)>
        fn) {
  // Each record's pairs, grouped in the order added (a counting sort).
  starts_.assign(seen_.size() + 1, 0);
  for (size_t i = 0; i < seen_.size(); ++i) starts_[i + 1] = starts_[i] + seen_[i].pairs;
  placed_.resize(pairs_.size());
  order_.assign(starts_.begin(), starts_.end() - 1);  // the next free place of each record
  for (uint32_t p = 0; p < pairs_.size(); ++p) placed_[order_[pairs_[p].record]++] = p;

  OrderByKey(seen_);
  for (const uint32_t i : order_) {
    const Seen& s = seen_[i];
    packed_.clear();
    for (uint32_t k = starts_[i]; k < starts_[i + 1]; ++k) {
      const SeenPair& pair = pairs_[placed_[k]];
      keys::AppendBigEndian64(packed_, static_cast<uint64_t>(pair.time));
      keys::AppendBigEndian64(packed_, pair.id_hash);
    }
    fn(KeyOf(s.offset, s.size), s.newest, s.ids, packed_);
  }
}

void CoalescedWrites::Clear() {
  keys_.clear();
  latest_.clear();
  seen_.clear();
  pairs_.clear();
  // A large table's clear() frees it: reserving what the last batch held
  // allocates once instead of growing (and rehashing) step by step again.
  const size_t latest = latest_index_.size(), seen = seen_index_.size();
  latest_index_.clear();
  latest_index_.reserve(latest);
  seen_index_.clear();
  seen_index_.reserve(seen);
}

}  // namespace trailsentry::storage::internal
