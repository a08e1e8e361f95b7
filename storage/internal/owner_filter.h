// OwnerFilter: a Bloom filter of the owners whose state this process wrote to
// a database that held no state when it opened (internal to storage). An owner
// is an identity or an account, as keys::Identity(tenant, name) spells it; a
// trusted network belongs to the identity or account it is trusted for. When
// the filter has never seen an owner, nothing of it is on disk and its load
// (LoadIdentity, LoadAccountBaseline, LoadTrusted) needs no read: with a fresh
// data directory (a backfill `scan`, a new server) that is every identity's
// first event, which otherwise costs three RocksDB iterators and two lookups.
//
// It never answers "absent" for an owner that was added. For one that was not,
// it answers "maybe" about 1% of the time up to ~5M owners, then more often;
// a "maybe" reads RocksDB, as a database without the filter does. Owners are
// added from each write batch before it is written (AddOwners), so a read that
// can see a write also sees its owner; deletes add nothing (a superset is
// safe). Add and MayContain may run on any threads at once.
//
// A second filter holds whole keys of the column families whose reads are one
// key (an account's baseline for one network): a new identity's first event
// reads the baseline of its account and source network, and the account is
// usually written already while that network is not.
//
//   OwnerFilter owners, keys;
//   AddOwners(batch, shapes, owners, keys);    // before db->Write(batch)
//   if (!owners.MayContain(owner)) return {};  // nothing stored
//   if (!keys.MayContain(key)) return {};      // a kOwnerAndKey family's key
#ifndef TRAILSENTRY_STORAGE_INTERNAL_OWNER_FILTER_H_
#define TRAILSENTRY_STORAGE_INTERNAL_OWNER_FILTER_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace trailsentry::storage::internal {

class OwnerFilter {
 public:
  // 2^26 bits: 8 MiB, ~13 bits per owner at 5M owners.
  OwnerFilter();
  void Add(std::string_view owner);
  bool MayContain(std::string_view owner) const;

 private:
  static constexpr int kBlockWordsLog2 = 3;  // 512-bit blocks: one cache line
  static constexpr int kBlocksLog2 = 17;
  static constexpr int kProbes = 6;  // bits set per owner, within its block
  // The first word of the hash's block.
  static size_t BlockOf(uint64_t hash);
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
};

// How a column family's keys start.
enum class KeyShape : uint8_t {
  kNotOwned,     // no owner (alerts by id, the change log, meta)
  kOwner,        // tenant | name | ...
  kOwnerAndKey,  // tenant | name | ...; the whole key goes in the key filter too
  kTrusted,      // tenant | scope byte | name | network: owner tenant | name
};

// Adds the owner of every key `batch` puts to `owners`, and each key put in a
// kOwnerAndKey column family to `keys`. `shapes[id]` is the shape of column
// family id `id`; ids beyond it are not owned.
absl::Status AddOwners(const rocksdb::WriteBatch& batch, const std::vector<KeyShape>& shapes,
                       OwnerFilter& owners, OwnerFilter& keys);

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_OWNER_FILTER_H_
