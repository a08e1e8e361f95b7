#include "storage/internal/identity_record.h"

#include <cstring>

#include "storage/internal/codec.h"

namespace trailsentry::storage::internal {

namespace {

constexpr char kHasProfile = 1;

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
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    IdentityRecord merged;
    if (in.existing_value != nullptr && !DecodeRecord(in.existing_value->ToStringView(), merged)) {
      return false;
    }
    for (const rocksdb::Slice& s : in.operand_list) {
      if (!LayOver(merged, s.ToStringView())) return false;
    }
    out->new_value.clear();
    EncodeRecord(merged, out->new_value);
    return true;
  }

  bool PartialMerge(const rocksdb::Slice&, const rocksdb::Slice& left, const rocksdb::Slice& right,
                    std::string* new_value, rocksdb::Logger*) const override {
    IdentityRecord merged;
    if (!DecodeRecord(left.ToStringView(), merged) || !LayOver(merged, right.ToStringView())) {
      return false;
    }
    new_value->clear();
    EncodeRecord(merged, *new_value);
    return true;
  }

  const char* Name() const override { return "trailsentry.IdentityRecordMerge"; }
};

}  // namespace

void AppendRecordStart(std::string& out, const engine::BaselineEntry* profile) {
  out.push_back(profile != nullptr ? kHasProfile : 0);
  if (profile != nullptr) AppendEntry(out, *profile);
}

void AppendRecordNetwork(std::string& out, std::string_view network_bytes,
                         const engine::BaselineEntry& entry) {
  out.append(network_bytes);
  AppendEntry(out, entry);
}

void EncodeRecord(const IdentityRecord& record, std::string& out) {
  AppendRecordStart(out, record.profile ? &*record.profile : nullptr);
  for (const auto& [network, entry] : record.networks) {
    AppendRecordNetwork(out, network.view(), entry);
  }
}

bool DecodeRecord(std::string_view in, IdentityRecord& out) {
  out.profile.reset();
  out.networks.clear();
  if (in.empty()) return false;
  const char flags = in[0];
  if ((flags & ~kHasProfile) != 0) return false;
  size_t pos = 1;
  if (flags & kHasProfile) {
    engine::BaselineEntry profile;
    if (!ReadEntry(in, pos, profile)) return false;
    out.profile = profile;
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

std::shared_ptr<rocksdb::MergeOperator> NewIdentityRecordMerge() {
  return std::make_shared<IdentityRecordMerge>();
}

}  // namespace trailsentry::storage::internal
