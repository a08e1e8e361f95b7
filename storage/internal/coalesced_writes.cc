#include "storage/internal/coalesced_writes.h"

#include <algorithm>

#include "storage/keys.h"

namespace trailsentry::storage::internal {

size_t CoalescedWrites::AddKey(std::string_view key) {
  const size_t offset = keys_.size();
  keys_.append(key);
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

void CoalescedWrites::PutLatest(std::string_view key, const engine::BaselineEntry& entry) {
  const auto [it, added] = latest_index_.try_emplace(engine::StableHash128Of(key),
                                                     static_cast<uint32_t>(latest_.size()));
  if (!added) {
    latest_[it->second].entry = entry;
    return;
  }
  Latest& l = latest_.emplace_back();
  l.offset = AddKey(key);
  l.size = static_cast<uint32_t>(key.size());
  l.entry = entry;
}

void CoalescedWrites::AddSeen(std::string_view identity_key, int64_t time, uint64_t id_hash) {
  const auto [it, added] = seen_index_.try_emplace(engine::StableHash128Of(identity_key),
                                                   static_cast<uint32_t>(seen_.size()));
  if (added) {
    Seen& s = seen_.emplace_back();
    s.offset = AddKey(identity_key);
    s.size = static_cast<uint32_t>(identity_key.size());
  }
  Seen& s = seen_[it->second];
  ++s.pairs;
  s.newest = std::max(s.newest, time);
  s.ids ^= id_hash;
  pairs_.push_back({it->second, time, id_hash});
}

void CoalescedWrites::Drop(absl::FunctionRef<bool(std::string_view key)> drop,
                           std::string_view identity_key) {
  for (Latest& l : latest_) {
    if (l.dropped) continue;
    const std::string_view key = KeyOf(l.offset, l.size);
    if (!drop(key)) continue;
    l.dropped = true;
    latest_index_.erase(engine::StableHash128Of(key));
  }
  const auto it = seen_index_.find(engine::StableHash128Of(identity_key));
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
