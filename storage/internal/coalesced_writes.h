// CoalescedWrites: what a StateBatch writes once per key at commit, however
// often its events changed it (internal to storage):
//   - the last profile or baseline entry of each key;
//   - each identity's seen events (identity_record.h), together.
//
// Entries belong to an owner (an identity or an account: tenant | name, as keys
// start) and are found by a 128-bit hash of the owner's hash, the column family
// byte and the network, compared in the table's slot (batch_index.h: emptied
// per batch without freeing): per event no key is built
// and no key's bytes are hashed; a new owner's key is copied once, into one
// arena. LastOwner builds an owner's key and hash again only when the owner
// changes. Values are encoded at commit only, once per key. A collision of both
// 64-bit halves of two hashes (2^-128 per pair) would merge two entries; like
// the engine's identity tables, it is treated as impossible.
//
// Keys are handed out in key order (cf | owner key | network). Owner keys are
// prefix-free (keys::AppendIdentity: no owner's key starts another's), so that
// order is the column family, then the owner's key, then the network: the
// owners are sorted by key once per batch, and the entries by counting sorts on
// the owners' ranks and the families (an owner's networks among themselves).
//
//   CoalescedWrites w;
//   LastOwner identity;
//   const Owner o = identity.Of(tenant, name);
//   w.PutLatest(cf, o, keys::EncodeNetwork(network), entry);  // or NetworkBytes{}: none
//   w.AddSeen(o, time, id_hash);
//   w.ForEachSeen([&](std::string_view key, std::span<const SeenEvent> seen) { ... });
//   w.ForEachLatest([&](const LatestKey& k, const engine::BaselineEntry& e) { ... });
//   w.Clear();
#ifndef TRAILSENTRY_STORAGE_INTERNAL_COALESCED_WRITES_H_
#define TRAILSENTRY_STORAGE_INTERNAL_COALESCED_WRITES_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "server/engine/baseline.h"
#include "server/engine/stable_hash.h"
#include "storage/internal/batch_index.h"
#include "storage/internal/identity_record.h"
#include "storage/keys.h"

namespace trailsentry::storage::internal {

// An identity or account: its key (keys::AppendIdentity) and that key's hash.
// From LastOwner::Of, `key` is valid until its next call.
struct Owner {
  std::string_view key;
  engine::StableHash128 hash;
};

// The Owner of (tenant, name), built again only when they change.
class LastOwner {
 public:
  Owner Of(std::string_view tenant, std::string_view name);

 private:
  bool set_ = false;
  std::string tenant_, name_, key_;
  engine::StableHash128 hash_;
};

// Where a latest entry goes: column family `cf`, key owner | network.
struct LatestKey {
  char cf;
  std::string_view owner;    // the owner's key
  std::string_view network;  // empty: none
};

class CoalescedWrites {
 public:
  // The entry of `owner`'s key in column family `cf`, with `network` (empty:
  // none), gets at commit: the last put. Its key: cf byte | owner key | network.
  void PutLatest(char cf, const Owner& owner, const keys::NetworkBytes& network,
                 const engine::BaselineEntry& entry);
  // Hints: PutLatest(cf, owner, network, ...) and AddSeen(owner, ...) come soon.
  // The entry's id is kept for that PutLatest (the last kHinted hints' ids).
  void Prefetch(char cf, const Owner& owner, const keys::NetworkBytes& network);
  void PrefetchSeen(const Owner& owner) const { seen_index_.Prefetch(owner.hash); }
  // One seen-only event record of the identity `owner`.
  void AddSeen(const Owner& owner, int64_t time, uint64_t id_hash);
  // Forgets the latest entries of `owner` in the column families `family`
  // matches, and its seen records (the identity was deleted in this batch).
  void Drop(const Owner& owner, absl::FunctionRef<bool(char cf)> family);

  bool empty() const { return latest_.empty() && seen_.empty(); }

  // Each latest entry, in key order (column family, owner, network: an owner's
  // entries in one column family are consecutive).
  void ForEachLatest(
      absl::FunctionRef<void(const LatestKey& key, const engine::BaselineEntry& entry)> fn);
  // Each identity's seen events, in identity key order; an identity's are
  // ascending, each once (`seen` is valid during the call).
  void ForEachSeen(
      absl::FunctionRef<void(std::string_view identity_key, std::span<const SeenEvent> seen)> fn);

  // Empties it, keeping the arena's and the lists' memory for the next batch.
  void Clear();

 private:
  // What finds a latest entry: a 128-bit hash of its owner's hash, column
  // family and network (16 bytes in the table's slot, not the whole id).
  static engine::StableHash128 EntryId(const engine::StableHash128& owner, char cf,
                                       std::string_view network);
  // EntryId, taken from the hints when one of them was for the same entry: an
  // event's writes then hash each entry's id once, not twice.
  engine::StableHash128 HintedEntryId(const engine::StableHash128& owner, char cf,
                                      const keys::NetworkBytes& network) const;
  struct Hint {
    engine::StableHash128 owner;
    char cf = 0;
    keys::NetworkBytes network;
    engine::StableHash128 id;
  };
  static constexpr size_t kHinted = 4;  // an event hints at three entries
  struct OwnerKey {
    size_t offset = 0;  // the owner's key: keys_[offset, offset + size)
    uint32_t size = 0;
  };
  struct Latest {
    uint32_t owner = 0;  // index in owners_
    char cf = 0;
    bool dropped = false;
    keys::NetworkBytes network;
    engine::BaselineEntry entry;
  };
  struct Seen {
    uint32_t owner = 0;  // index in owners_
    bool dropped = false;
    uint32_t pairs = 0;
  };
  struct SeenPair {
    uint32_t record;  // index in seen_
    int64_t time;
    uint64_t id_hash;
  };
  std::string_view KeyOf(uint32_t owner) const {
    return std::string_view(keys_).substr(owners_[owner].offset, owners_[owner].size);
  }
  // The index of `owner` in owners_, added (its key copied) on first sight.
  uint32_t OwnerIndex(const Owner& owner);
  // rank_[i] = the place of owners_[i] in key order (sorted once per batch).
  void RankOwners();
  // Into `out`, the indices of the records (latest_ or seen_) not dropped, in
  // their owners' key order (a counting sort by rank; an owner's records in the
  // order added).
  template <typename Record>
  void ByOwnerRank(const std::vector<Record>& records, std::vector<uint32_t>& out);

  Hint hints_[kHinted];  // ids a Prefetch computed (a pure function of the rest)
  size_t hinted_ = 0;    // hints_[0, min(hinted_, kHinted)) are set
  std::string keys_;     // every owner's key, once
  std::vector<OwnerKey> owners_;
  BatchIndex owner_index_;
  std::vector<Latest> latest_;
  BatchIndex latest_index_;  // by EntryId
  std::vector<Seen> seen_;
  BatchIndex seen_index_;  // by owner hash
  std::vector<SeenPair> pairs_;
  // Reused at commit.
  bool ranked_ = false;
  std::vector<uint32_t> by_key_, rank_, starts_, placed_, next_;
  std::vector<uint32_t> owner_starts_, by_owner_, in_order_;
  std::vector<SeenEvent> sorted_;
};

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_COALESCED_WRITES_H_
