#include "storage/internal/pending_writes.h"

#include <rocksdb/merge_operator.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace trailsentry::storage::internal {

// Feeds a write batch's operations to a PendingWrites.
class PendingFolder final : public rocksdb::WriteBatch::Handler {
 public:
  explicit PendingFolder(PendingWrites& pending) : pending_(pending) {}

  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    return Done(pending_.Put(cf, key.ToStringView(), value.ToStringView()));
  }
  rocksdb::Status DeleteCF(uint32_t cf, const rocksdb::Slice& key) override {
    return Done(pending_.Delete(cf, key.ToStringView()));
  }
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    return Done(pending_.Merge(cf, key.ToStringView(), value.ToStringView()));
  }
  rocksdb::Status DeleteRangeCF(uint32_t cf, const rocksdb::Slice& begin,
                                const rocksdb::Slice& end) override {
    return Done(pending_.DeleteRange(cf, begin.ToStringView(), end.ToStringView()));
  }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override {
    return Done(absl::InvalidArgumentError("a single delete cannot be held pending"));
  }
  rocksdb::Status PutBlobIndexCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return Done(absl::InvalidArgumentError("a blob index cannot be held pending"));
  }
  void LogData(const rocksdb::Slice&) override {}

  const absl::Status& status() const { return status_; }

 private:
  rocksdb::Status Done(absl::Status s) {
    if (s.ok()) return rocksdb::Status::OK();
    status_ = std::move(s);
    return rocksdb::Status::Aborted(std::string(status_.message()));
  }

  PendingWrites& pending_;
  absl::Status status_;
};

PendingWrites::PendingWrites(std::vector<const rocksdb::MergeOperator*> merge)
    : merge_(std::move(merge)) {}

std::string PendingWrites::PendingKey(uint32_t cf, std::string_view key) {
  std::string k;
  AssignPendingKey(k, cf, key);
  return k;
}

void PendingWrites::AssignPendingKey(std::string& out, uint32_t cf, std::string_view key) {
  out.clear();
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(cf >> shift));
  out.append(key);
}

std::pair<absl::flat_hash_map<std::string, PendingWrites::Write>::iterator, bool>
PendingWrites::Pending(uint32_t cf, std::string_view key) {
  // Built in a reused buffer: the map copies it only when the key is new (most
  // keys a commit writes were written by an earlier one since the last apply).
  AssignPendingKey(lookup_, cf, key);
  return keys_.try_emplace(lookup_);
}

uint32_t PendingWrites::FamilyOf(std::string_view pending_key) {
  uint32_t cf = 0;
  for (int i = 0; i < 4; ++i) cf = cf << 8 | static_cast<uint8_t>(pending_key[i]);
  return cf;
}

absl::Status PendingWrites::Fold(const rocksdb::WriteBatch& batch) {
  PendingFolder folder(*this);
  const rocksdb::Status s = batch.Iterate(&folder);
  if (!folder.status().ok()) return folder.status();
  if (!s.ok()) return absl::DataLossError(absl::StrCat("reading a write batch: ", s.ToString()));
  return absl::OkStatus();
}

absl::Status PendingWrites::Fold(const PendingWrites& later) {
  for (const Range& r : later.ranges_) {
    if (absl::Status s = DeleteRange(r.cf, r.begin, r.end); !s.ok()) return s;
  }
  for (const auto& [k, w] : later.keys_) {
    const uint32_t cf = FamilyOf(k);
    const std::string_view key = std::string_view(k).substr(4);
    absl::Status s = w.kind == Kind::kPut      ? Put(cf, key, w.value)
                     : w.kind == Kind::kDelete ? Delete(cf, key)
                                               : Merge(cf, key, w.value);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status PendingWrites::Put(uint32_t cf, std::string_view key, std::string_view value) {
  auto [it, added] = Pending(cf, key);
  if (added) bytes_ += it->first.size();
  bytes_ += value.size();
  bytes_ -= it->second.value.size();
  it->second.kind = Kind::kPut;
  it->second.value.assign(value);
  return absl::OkStatus();
}

absl::Status PendingWrites::Delete(uint32_t cf, std::string_view key) {
  auto [it, added] = Pending(cf, key);
  if (added) bytes_ += it->first.size();
  bytes_ -= it->second.value.size();
  it->second.kind = Kind::kDelete;
  it->second.value.clear();
  return absl::OkStatus();
}

absl::Status PendingWrites::Merge(uint32_t cf, std::string_view key, std::string_view operand) {
  if (cf >= merge_.size() || merge_[cf] == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("a merge in column family ", cf, ", which has no merge operator"));
  }
  auto [it, added] = Pending(cf, key);
  if (added) {
    bytes_ += it->first.size() + operand.size();
    it->second.kind = Kind::kMerge;
    it->second.value.assign(operand);
    return absl::OkStatus();
  }
  const size_t before = it->second.value.size();
  absl::Status s = MergeInto(cf, key, it->second, operand);
  bytes_ += it->second.value.size();
  bytes_ -= before;
  return s;
}

absl::Status PendingWrites::MergeInto(uint32_t cf, std::string_view key, Write& w,
                                      std::string_view operand) {
  const rocksdb::MergeOperator& op = *merge_[cf];
  const rocksdb::Slice k(key.data(), key.size());
  const rocksdb::Slice right(operand.data(), operand.size());
  scratch_.clear();
  bool ok = false;
  if (w.kind == Kind::kMerge) {
    ok = op.PartialMerge(k, rocksdb::Slice(w.value), right, &scratch_, nullptr);
  } else {
    // A put or a delete below: the key gets a put of the operand laid over it.
    const rocksdb::Slice base(w.value);
    const std::vector<rocksdb::Slice> operands{right};
    rocksdb::Slice existing_operand(nullptr, 0);  // set when the result is an input
    rocksdb::MergeOperator::MergeOperationOutput out(scratch_, existing_operand);
    ok = op.FullMergeV2(rocksdb::MergeOperator::MergeOperationInput(
                            k, w.kind == Kind::kPut ? &base : nullptr, operands, nullptr),
                        &out);
    if (ok && existing_operand.data() != nullptr) {
      scratch_.assign(existing_operand.data(), existing_operand.size());
    }
    if (ok) w.kind = Kind::kPut;
  }
  if (!ok) {
    return absl::DataLossError(absl::StrCat("merging a pending write of column family ", cf,
                                            ": the operands do not decode"));
  }
  w.value.swap(scratch_);
  return absl::OkStatus();
}

absl::Status PendingWrites::DeleteRange(uint32_t cf, std::string_view begin, std::string_view end) {
  const std::string from = PendingKey(cf, begin), to = PendingKey(cf, end);
  for (auto it = keys_.begin(); it != keys_.end();) {
    if (it->first >= from && it->first < to) {
      bytes_ -= it->first.size() + it->second.value.size();
      keys_.erase(it++);
    } else {
      ++it;
    }
  }
  bytes_ += begin.size() + end.size();
  ranges_.push_back({cf, std::string(begin), std::string(end)});
  return absl::OkStatus();
}

void PendingWrites::ForEachChunk(size_t keys,
                                 const std::vector<rocksdb::ColumnFamilyHandle*>& families,
                                 rocksdb::WriteBatch& chunk, absl::FunctionRef<bool()> full) const {
  size_t n = 0;
  for (const Range& r : ranges_) chunk.DeleteRange(families[r.cf], r.begin, r.end);
  // In key order: a memtable insert after its neighbour is cheaper than one
  // at a random place of the skip list.
  std::vector<const std::pair<const std::string, Write>*> sorted;
  sorted.reserve(keys_.size());
  for (const auto& e : keys_) sorted.push_back(&e);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* e : sorted) {
    const auto& [k, w] = *e;
    rocksdb::ColumnFamilyHandle* f = families[FamilyOf(k)];
    const rocksdb::Slice key(k.data() + 4, k.size() - 4);
    switch (w.kind) {
      case Kind::kPut:
        chunk.Put(f, key, w.value);
        break;
      case Kind::kDelete:
        chunk.Delete(f, key);
        break;
      case Kind::kMerge:
        chunk.Merge(f, key, w.value);
        break;
    }
    if (++n % keys == 0 && !full()) return;
  }
  if (chunk.Count() > 0) full();
}

void PendingWrites::Clear() {
  keys_.clear();
  ranges_.clear();
  bytes_ = 0;
}

}  // namespace trailsentry::storage::internal
