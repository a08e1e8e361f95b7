#include "storage/internal/codec.h"

#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"

namespace trailsentry::storage::internal {

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat(AbslView(what), ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsIOError() || s.IsBusy() || s.IsTryAgain()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view in, size_t& pos, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift <= 63 && pos < in.size(); shift += 7) {
    const auto b = static_cast<uint8_t>(in[pos++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

std::string EncodeEntry(const engine::BaselineEntry& e) {
  std::string out;
  AppendEntry(out, e);
  return out;
}

void AppendEntry(std::string& out, const engine::BaselineEntry& e) {
  PutVarint(out, static_cast<uint64_t>(e.first_seen));
  PutVarint(out, static_cast<uint64_t>(e.last_seen - e.first_seen));
  PutVarint(out, static_cast<uint64_t>(e.count));
}

std::optional<engine::BaselineEntry> DecodeEntry(std::string_view in) {
  size_t pos = 0;
  engine::BaselineEntry e;
  if (!ReadEntry(in, pos, e) || pos != in.size()) return std::nullopt;
  return e;
}

bool ReadEntry(std::string_view in, size_t& pos, engine::BaselineEntry& out) {
  uint64_t first, span, count;
  if (!GetVarint(in, pos, first) || !GetVarint(in, pos, span) || !GetVarint(in, pos, count)) {
    return false;
  }
  // Event times are 1970..9999 (ms) and counts fit an int64: anything else is a
  // damaged value, never a time to compute with.
  constexpr uint64_t kMaxTime = 253402300799999;
  if (first > kMaxTime || span > kMaxTime - first || count > static_cast<uint64_t>(INT64_MAX)) {
    return false;
  }
  out = engine::BaselineEntry{static_cast<int64_t>(first), static_cast<int64_t>(first + span),
                              static_cast<int64_t>(count)};
  return true;
}

std::string EncodeAlert(const v1::Alert& alert, const std::vector<int64_t>& event_times) {
  std::string out;
  const std::string bytes = alert.SerializeAsString();
  PutVarint(out, bytes.size());
  out.append(bytes);
  PutVarint(out, event_times.size());
  for (int64_t t : event_times) PutVarint(out, static_cast<uint64_t>(t));
  return out;
}

std::optional<StoredAlert> DecodeAlert(std::string_view in) {
  size_t pos = 0;
  uint64_t size = 0, count = 0;
  if (!GetVarint(in, pos, size) || size > in.size() - pos) return std::nullopt;
  StoredAlert out;
  if (!out.alert.ParseFromArray(in.data() + pos, static_cast<int>(size))) return std::nullopt;
  pos += size;
  if (!GetVarint(in, pos, count) || count > in.size() - pos) return std::nullopt;
  out.event_times.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t t = 0;
    if (!GetVarint(in, pos, t)) return std::nullopt;
    out.event_times.push_back(static_cast<int64_t>(t));
  }
  if (pos != in.size()) return std::nullopt;
  return out;
}

}  // namespace trailsentry::storage::internal
