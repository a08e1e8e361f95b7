// IdentityRecord: an identity's profile, source-network baseline and seen
// events, one value of the "identity" column family (internal to storage). An
// event of a new identity writes one key for all three instead of three
// (issue 8: rate with 1M identities; schema 3 joined the first two, schema 4
// the seen events).
//
// Seen events are the (time, id hash) of the identity's events that no rule
// logged, so that a re-sent event is still recognised after the identity is
// read back (engine/seen_events.h). A merge keeps those within `seen_keep_ms`
// of the newest it holds; the engine reads back only those within
// max_lateness of the identity's newest event, never older ones.
//
// A value: a flags byte (1: a profile follows; 2: seen events follow; no other
// bit is set), the profile's entry, the seen events (a varint count, then each
// in ascending order: its time as a varint step from the previous one's, from
// 0 for the first, and its id hash, 8 bytes big-endian), then each network in
// ascending byte order: its bytes (keys::EncodeNetwork: a tag byte, then 4 or
// 16 address bytes) and its entry (codec.h: three varints).
//
// A batch writes an identity's changes as a RocksDB merge operand in the same
// form, holding only what changed; IdentityRecordMerge lays later operands over
// earlier ones (a later profile replaces the earlier, a network's later entry
// replaces its earlier one, and seen events add up), so a read gives the
// record as if written whole.
//
//   std::string v;
//   AppendRecordStart(v, &profile, seen);           // or nullptr: no profile
//   AppendRecordNetwork(v, keys::EncodeNetwork(net).view(), entry);
//   IdentityRecord r;
//   if (!DecodeRecord(v, r)) { /* damaged */ }
#ifndef TRAILSENTRY_STORAGE_INTERNAL_IDENTITY_RECORD_H_
#define TRAILSENTRY_STORAGE_INTERNAL_IDENTITY_RECORD_H_

#include <rocksdb/merge_operator.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/engine/baseline.h"
#include "storage/keys.h"

namespace trailsentry::storage::internal {

// An event of the identity no rule logged: when, and which (EventIdHash).
struct SeenEvent {
  int64_t time = 0;
  uint64_t id_hash = 0;
  friend auto operator<=>(const SeenEvent&, const SeenEvent&) = default;
};

struct IdentityRecord {
  std::optional<engine::BaselineEntry> profile;
  // Ascending (by time, then id hash), each once.
  std::vector<SeenEvent> seen;
  // Ascending by network bytes, each network once.
  std::vector<std::pair<keys::NetworkBytes, engine::BaselineEntry>> networks;
};

// Appends the flags byte, the profile (null: none) and the seen events, which
// must be ascending and each once.
void AppendRecordStart(std::string& out, const engine::BaselineEntry* profile,
                       std::span<const SeenEvent> seen = {});
// Appends one network; a record's networks must be appended in ascending order.
void AppendRecordNetwork(std::string& out, std::string_view network_bytes,
                         const engine::BaselineEntry& entry);
// Appends the whole record.
void EncodeRecord(const IdentityRecord& record, std::string& out);
// False when `in` is not a whole record (damaged, or networks or seen events
// out of order).
bool DecodeRecord(std::string_view in, IdentityRecord& out);

// `later` laid over `earlier` into `out` (which may be neither).
void MergeRecords(const IdentityRecord& earlier, const IdentityRecord& later, IdentityRecord& out);
// Drops the networks last seen before `before`; true when it dropped any.
bool DropNetworksSeenBefore(IdentityRecord& record, int64_t before);
// Drops the seen events before `before`; true when it dropped any.
bool DropSeenBefore(IdentityRecord& record, int64_t before);

// The merge operator of the "identity" column family: keeps the seen events
// within `seen_keep_ms` of the newest one the merged record holds.
std::shared_ptr<rocksdb::MergeOperator> NewIdentityRecordMerge(int64_t seen_keep_ms);

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_IDENTITY_RECORD_H_
