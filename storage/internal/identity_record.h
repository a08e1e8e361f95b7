// IdentityRecord: an identity's profile and source-network baseline, one value
// of the "identity" column family (schema 3; internal to storage). An event of
// a new identity writes one key for both instead of two (issue 8: rate with 1M
// identities).
//
// A value: a flags byte (1: a profile follows; no other bit is set), the
// profile's entry, then each network in ascending byte order: its bytes
// (keys::EncodeNetwork: a tag byte, then 4 or 16 address bytes) and its entry
// (codec.h: three varints).
//
// A batch writes an identity's changes as a RocksDB merge operand in the same
// form, holding only what changed; IdentityRecordMerge lays later operands over
// earlier ones (a later profile replaces the earlier, a network's later entry
// replaces its earlier one), so a read gives the record as if written whole.
//
//   std::string v;
//   AppendRecordStart(v, &profile);                 // or nullptr: no profile
//   AppendRecordNetwork(v, keys::EncodeNetwork(net).view(), entry);
//   IdentityRecord r;
//   if (!DecodeRecord(v, r)) { /* damaged */ }
#ifndef TRAILSENTRY_STORAGE_INTERNAL_IDENTITY_RECORD_H_
#define TRAILSENTRY_STORAGE_INTERNAL_IDENTITY_RECORD_H_

#include <rocksdb/merge_operator.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/engine/baseline.h"
#include "storage/keys.h"

namespace trailsentry::storage::internal {

struct IdentityRecord {
  std::optional<engine::BaselineEntry> profile;
  // Ascending by network bytes, each network once.
  std::vector<std::pair<keys::NetworkBytes, engine::BaselineEntry>> networks;
};

// Appends the flags byte and the profile (null: none).
void AppendRecordStart(std::string& out, const engine::BaselineEntry* profile);
// Appends one network; a record's networks must be appended in ascending order.
void AppendRecordNetwork(std::string& out, std::string_view network_bytes,
                         const engine::BaselineEntry& entry);
// Appends the whole record.
void EncodeRecord(const IdentityRecord& record, std::string& out);
// False when `in` is not a whole record (damaged, or networks out of order).
bool DecodeRecord(std::string_view in, IdentityRecord& out);

// `later` laid over `earlier` into `out` (which may be neither).
void MergeRecords(const IdentityRecord& earlier, const IdentityRecord& later, IdentityRecord& out);
// Drops the networks last seen before `before`; true when it dropped any.
bool DropNetworksSeenBefore(IdentityRecord& record, int64_t before);

// The merge operator of the "identity" column family.
std::shared_ptr<rocksdb::MergeOperator> NewIdentityRecordMerge();

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_IDENTITY_RECORD_H_
