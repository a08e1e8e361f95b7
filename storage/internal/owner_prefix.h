// OwnerPrefix: the RocksDB prefix extractor of the column families keyed by an
// owner (tenant | identity, or tenant | account): the key's first two
// length-prefixed components. With it, memtables and SST files keep a Bloom
// filter of owners, so reading the state of an identity that has none (every
// identity's first event) skips the memtable's skip list and the SST files'
// index and data blocks instead of searching them (issue 8: rate with 1M
// identities). Reads within one owner use OneOwnerReads; a read that crosses
// owners must use AllOwnersReads, or RocksDB may skip records of other owners.
//
//   cf_options.prefix_extractor = NewOwnerPrefix();
//   db->NewIterator(OneOwnerReads(), cf);
#ifndef TRAILSENTRY_STORAGE_INTERNAL_OWNER_PREFIX_H_
#define TRAILSENTRY_STORAGE_INTERNAL_OWNER_PREFIX_H_

#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>

#include <memory>

namespace trailsentry::storage::internal {

std::shared_ptr<const rocksdb::SliceTransform> NewOwnerPrefix();

// Iteration stays within the owner of the key first sought; Bloom filters apply.
inline rocksdb::ReadOptions OneOwnerReads() {
  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;
  return ro;
}

// Iteration over every owner, in key order.
inline rocksdb::ReadOptions AllOwnersReads() {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  return ro;
}

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_OWNER_PREFIX_H_
