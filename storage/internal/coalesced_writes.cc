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
  uint32_t& index = owner_index_[owner.hash];
  if (index == BatchIndex::kNone) {
    index = static_cast<uint32_t>(owners_.size());
    owners_.push_back({keys_.size(), static_cast<uint32_t>(owner.key.size())});
    keys_.append(owner.key);
    ranked_ = false;
  }
  return index;
}

void CoalescedWrites::RankOwners() {
  if (ranked_) return;
  // In key order: the memtable's skip list then finds each key's place from the
  // previous one's (its insert splice is reused) instead of from the top. The
  // only sort of keys' bytes, once per owner.
  by_key_.resize(owners_.size());
  for (uint32_t i = 0; i < owners_.size(); ++i) by_key_[i] = i;
  std::sort(by_key_.begin(), by_key_.end(),
            [&](uint32_t a, uint32_t b) { return KeyOf(a) < KeyOf(b); });
  rank_.resize(owners_.size());
  for (uint32_t r = 0; r < by_key_.size(); ++r) rank_[by_key_[r]] = r;
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

void CoalescedWrites::Prefetch(char cf, const Owner& owner, const keys::NetworkBytes& network) {
  Hint& hint = hints_[hinted_ % kHinted];
  ++hinted_;
  hint.owner = owner.hash;
  hint.cf = cf;
  hint.network = network;
  hint.id = EntryId(owner.hash, cf, network.view());
  latest_index_.Prefetch(hint.id);
}

engine::StableHash128 CoalescedWrites::HintedEntryId(const engine::StableHash128& owner, char cf,
                                                     const keys::NetworkBytes& network) const {
  for (size_t i = 0; i < std::min(hinted_, kHinted); ++i) {
    const Hint& hint = hints_[i];
    if (hint.owner == owner && hint.cf == cf && hint.network.view() == network.view()) {
      return hint.id;
    }
  }
  return EntryId(owner, cf, network.view());
}

void CoalescedWrites::PutLatest(char cf, const Owner& owner, const keys::NetworkBytes& network,
                                const engine::BaselineEntry& entry) {
  uint32_t& index = latest_index_[HintedEntryId(owner.hash, cf, network)];
  if (index != BatchIndex::kNone) {
    latest_[index].entry = entry;
    return;
  }
  index = static_cast<uint32_t>(latest_.size());
  Latest& l = latest_.emplace_back();
  l.owner = OwnerIndex(owner);
  l.cf = cf;
  l.network = network;
  l.entry = entry;
}

void CoalescedWrites::AddSeen(const Owner& owner, int64_t time, uint64_t id_hash) {
  uint32_t& slot = seen_index_[owner.hash];
  if (slot == BatchIndex::kNone) {
    slot = static_cast<uint32_t>(seen_.size());
    seen_.emplace_back().owner = OwnerIndex(owner);
  }
  const uint32_t record = slot;
  ++seen_[record].pairs;
  pairs_.push_back({record, time, id_hash});
}

void CoalescedWrites::Drop(const Owner& owner, absl::FunctionRef<bool(char cf)> family) {
  const uint32_t o = owner_index_.Find(owner.hash);
  if (o == BatchIndex::kNone) return;  // nothing of it in this batch
  for (Latest& l : latest_) {
    if (l.dropped || l.owner != o || !family(l.cf)) continue;
    l.dropped = true;
    latest_index_[EntryId(owner.hash, l.cf, l.network.view())] = BatchIndex::kNone;
  }
  uint32_t& record = seen_index_[owner.hash];
  if (record != BatchIndex::kNone) {
    seen_[record].dropped = true;  // its pairs stay in pairs_, skipped
    record = BatchIndex::kNone;
  }
}

template <typename Record>
void CoalescedWrites::ByOwnerRank(const std::vector<Record>& records, std::vector<uint32_t>& out) {
  RankOwners();
  owner_starts_.assign(owners_.size() + 1, 0);
  for (const Record& r : records) {
    if (!r.dropped) ++owner_starts_[rank_[r.owner] + 1];
  }
  for (size_t k = 0; k < owners_.size(); ++k) owner_starts_[k + 1] += owner_starts_[k];
  out.resize(owner_starts_.back());
  for (uint32_t i = 0; i < records.size(); ++i) {
    if (!records[i].dropped) out[owner_starts_[rank_[records[i].owner]]++] = i;
  }
}

void CoalescedWrites::ForEachLatest(
    absl::FunctionRef<void(const LatestKey& key, const engine::BaselineEntry& entry)> fn) {
  // Key order without comparing keys: by owner rank, then a stable counting
  // sort by column family, give (family, owner) order in linear time; an
  // owner's few networks in one family are then sorted among themselves.
  ByOwnerRank(latest_, by_owner_);
  size_t family_starts[257] = {};
  for (const uint32_t i : by_owner_) ++family_starts[static_cast<uint8_t>(latest_[i].cf) + 1];
  for (size_t f = 0; f < 256; ++f) family_starts[f + 1] += family_starts[f];
  in_order_.resize(by_owner_.size());
  for (const uint32_t i : by_owner_) {
    in_order_[family_starts[static_cast<uint8_t>(latest_[i].cf)]++] = i;
  }
  for (size_t from = 0; from < in_order_.size();) {
    const Latest& first = latest_[in_order_[from]];
    size_t to = from + 1;
    while (to < in_order_.size() && latest_[in_order_[to]].owner == first.owner &&
           latest_[in_order_[to]].cf == first.cf) {
      ++to;
    }
    if (to - from > 1) {
      std::sort(in_order_.begin() + static_cast<std::ptrdiff_t>(from),
                in_order_.begin() + static_cast<std::ptrdiff_t>(to), [&](uint32_t a, uint32_t b) {
                  return latest_[a].network.view() < latest_[b].network.view();
                });
    }
    for (size_t k = from; k < to; ++k) {
      const Latest& l = latest_[in_order_[k]];
      fn(LatestKey{l.cf, KeyOf(l.owner), l.network.view()}, l.entry);
    }
    from = to;
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

  ByOwnerRank(seen_, by_owner_);  // one live record per owner
  for (const uint32_t i : by_owner_) {
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
  owner_index_.Clear();
  latest_index_.Clear();
  seen_index_.Clear();
}

}  // namespace trailsentry::storage::internal
