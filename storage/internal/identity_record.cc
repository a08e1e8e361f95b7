#include "storage/internal/identity_record.h"

#include <algorithm>
#include <cstring>
#include <iterator>

#include "storage/internal/codec.h"

namespace trailsentry::storage::internal {

namespace {

constexpr char kHasProfile = 1;
constexpr char kHasSeen = 2;

// A network's bytes at `pos` (a tag byte, then 4 or 16 address bytes), advancing it.
bool ReadNetwork(std::string_view in, size_t& pos, keys::NetworkBytes& out) {
  if (pos >= in.size()) return false;
  const auto tag = static_cast<uint8_t>(in[pos]);
  const bool v6 = tag >= 64;
  if ((v6 ? tag - 64 : tag) > (v6 ? 128 : 32)) return false;
  const size_t size = v6 ? 17 : 5;
  if (in.size() - pos < size) return false;
  std::memcpy(out.bytes.data(), in.data() + pos, size);
  out.size = static_cast<uint8_t>(size);
  pos += size;
  return true;
}

// Lays the record `operand` over `merged`; false when it is damaged.
bool LayOver(IdentityRecord& merged, std::string_view operand) {
  IdentityRecord later, out;
  if (!DecodeRecord(operand, later)) return false;
  MergeRecords(merged, later, out);
  std::swap(merged, out);
  return true;
}

class IdentityRecordMerge final : public rocksdb::MergeOperator {
 public:
  explicit IdentityRecordMerge(int64_t seen_keep_ms) : seen_keep_ms_(seen_keep_ms) {}

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    IdentityRecord merged;
    if (in.existing_value != nullptr && !DecodeRecord(in.existing_value->ToStringView(), merged)) {
      return false;
    }
    for (const rocksdb::Slice& s : in.operand_list) {
      if (!LayOver(merged, s.ToStringView())) return false;
    }
    Finish(merged, out->new_value);
    return true;
  }

  bool PartialMerge(const rocksdb::Slice&, const rocksdb::Slice& left, const rocksdb::Slice& right,
                    std::string* new_value, rocksdb::Logger*) const override {
    IdentityRecord merged;
    if (!DecodeRecord(left.ToStringView(), merged) || !LayOver(merged, right.ToStringView())) {
      return false;
    }
    Finish(merged, *new_value);
    return true;
  }

  const char* Name() const override { return "trailsentry.IdentityRecordMerge"; }

 private:
  // Drops the seen events too old to be read back, and encodes the rest.
  void Finish(IdentityRecord& merged, std::string& out) const {
    if (!merged.seen.empty() && merged.seen.back().time > INT64_MIN + seen_keep_ms_) {
      DropSeenBefore(merged, merged.seen.back().time - seen_keep_ms_);
    }
    out.clear();
    EncodeRecord(merged, out);
  }

  const int64_t seen_keep_ms_;
};

}  // namespace

void AppendRecordStart(std::string& out, const engine::BaselineEntry* profile,
                       std::span<const SeenEvent> seen) {
  out.push_back(
      static_cast<char>((profile != nullptr ? kHasProfile : 0) | (seen.empty() ? 0 : kHasSeen)));
  if (profile != nullptr) AppendEntry(out, *profile);
  if (seen.empty()) return;
  PutVarint(out, seen.size());
  uint64_t previous = 0;
  for (const SeenEvent& e : seen) {
    PutVarint(out, static_cast<uint64_t>(e.time) - previous);
    previous = static_cast<uint64_t>(e.time);
    keys::AppendBigEndian64(out, e.id_hash);
  }
}

void AppendRecordNetwork(std::string& out, std::string_view network_bytes,
                         const engine::BaselineEntry& entry) {
  out.append(network_bytes);
  AppendEntry(out, entry);
}

void EncodeRecord(const IdentityRecord& record, std::string& out) {
  AppendRecordStart(out, record.profile ? &*record.profile : nullptr, record.seen);
  for (const auto& [network, entry] : record.networks) {
    AppendRecordNetwork(out, network.view(), entry);
  }
}

bool DecodeRecord(std::string_view in, IdentityRecord& out) {
  out.profile.reset();
  out.seen.clear();
  out.networks.clear();
  if (in.empty()) return false;
  const char flags = in[0];
  if ((flags & ~(kHasProfile | kHasSeen)) != 0) return false;
  size_t pos = 1;
  if (flags & kHasProfile) {
    engine::BaselineEntry profile;
    if (!ReadEntry(in, pos, profile)) return false;
    out.profile = profile;
  }
  if (flags & kHasSeen) {
    uint64_t count = 0;
    // Each seen event takes at least 9 bytes: a bound before reserving.
    if (!GetVarint(in, pos, count) || count == 0 || count > (in.size() - pos) / 9) return false;
    out.seen.reserve(count);
    uint64_t time = 0;
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t step = 0;
      SeenEvent e;
      if (!GetVarint(in, pos, step) || in.size() - pos < sizeof e.id_hash) return false;
      time += step;
      e.time = static_cast<int64_t>(time);
      e.id_hash = keys::ReadBigEndian64(in.substr(pos, sizeof e.id_hash));
      pos += sizeof e.id_hash;
      if (!out.seen.empty() && !(out.seen.back() < e)) return false;  // out of order, or twice
      out.seen.push_back(e);
    }
  }
  while (pos < in.size()) {
    keys::NetworkBytes network;
    engine::BaselineEntry entry;
    if (!ReadNetwork(in, pos, network) || !ReadEntry(in, pos, entry)) return false;
    if (!out.networks.empty() && !(out.networks.back().first.view() < network.view())) {
      return false;  // out of order, or twice
    }
    out.networks.emplace_back(network, entry);
  }
  return true;
}

void MergeRecords(const IdentityRecord& earlier, const IdentityRecord& later, IdentityRecord& out) {
  out.profile = later.profile ? later.profile : earlier.profile;
  out.seen.clear();
  out.seen.reserve(earlier.seen.size() + later.seen.size());
  std::set_union(earlier.seen.begin(), earlier.seen.end(), later.seen.begin(), later.seen.end(),
                 std::back_inserter(out.seen));
  out.networks.clear();
  out.networks.reserve(earlier.networks.size() + later.networks.size());
  auto e = earlier.networks.begin(), l = later.networks.begin();
  while (e != earlier.networks.end() || l != later.networks.end()) {
    if (l == later.networks.end() ||
        (e != earlier.networks.end() && e->first.view() < l->first.view())) {
      out.networks.push_back(*e++);
    } else {
      if (e != earlier.networks.end() && e->first.view() == l->first.view()) ++e;
      out.networks.push_back(*l++);
    }
  }
}

bool DropNetworksSeenBefore(IdentityRecord& record, int64_t before) {
  const size_t size = record.networks.size();
  std::erase_if(record.networks, [&](const auto& n) { return n.second.last_seen < before; });
  return record.networks.size() != size;
}

bool DropSeenBefore(IdentityRecord& record, int64_t before) {
  // Ascending by time: the old ones are a prefix.
  const auto keep = std::lower_bound(record.seen.begin(), record.seen.end(), SeenEvent{before, 0});
  if (keep == record.seen.begin()) return false;
  record.seen.erase(record.seen.begin(), keep);
  return true;
}

std::shared_ptr<rocksdb::MergeOperator> NewIdentityRecordMerge(int64_t seen_keep_ms) {
  return std::make_shared<IdentityRecordMerge>(seen_keep_ms);
}

}  // namespace trailsentry::storage::internal
