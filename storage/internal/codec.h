// Value encodings and status mapping shared by the storage files (internal).
//
//   std::string v = EncodeEntry(entry);
//   std::optional<engine::BaselineEntry> e = DecodeEntry(v);
#ifndef TRAILSENTRY_STORAGE_INTERNAL_CODEC_H_
#define TRAILSENTRY_STORAGE_INTERNAL_CODEC_H_

#include <rocksdb/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "server/engine/baseline.h"
#include "trailsentry/v1/alert.pb.h"

namespace trailsentry::storage::internal {

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what);
void PutVarint(std::string& out, uint64_t v);
bool GetVarint(std::string_view in, size_t& pos, uint64_t& v);
// Baseline values: varint first_seen, varint (last_seen - first_seen), varint count.
std::string EncodeEntry(const engine::BaselineEntry& e);
void AppendEntry(std::string& out, const engine::BaselineEntry& e);
std::optional<engine::BaselineEntry> DecodeEntry(std::string_view in);
// Reads one entry at `pos`, advancing it; false when malformed.
bool ReadEntry(std::string_view in, size_t& pos, engine::BaselineEntry& out);

// Alert records: varint length + the v1::Alert bytes, then varint count + the
// time (ms, varint) of each of its event ids in their order, which the wire form
// does not carry and restoring an open alert needs.
struct StoredAlert {
  v1::Alert alert;
  std::vector<int64_t> event_times;
};
std::string EncodeAlert(const v1::Alert& alert, const std::vector<int64_t>& event_times);
std::optional<StoredAlert> DecodeAlert(std::string_view in);

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_CODEC_H_
