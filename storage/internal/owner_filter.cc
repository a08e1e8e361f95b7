#include "storage/internal/owner_filter.h"

#include <rocksdb/write_batch.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "server/engine/stable_hash.h"
#include "storage/keys.h"

namespace trailsentry::storage::internal {
namespace {

constexpr uint64_t kSeed = 0x6f776e6572ULL;  // "owner"

// The owner of `key` (`shape`) as keys::Identity(tenant, name) spells it: a
// trusted network's owner is the identity or account it is trusted for (its
// scope byte left out, into `scratch`). Empty when the key is not owned or is
// malformed.
std::string_view OwnerOf(std::string_view key, KeyShape shape, std::string& scratch) {
  size_t pos = 0;
  switch (shape) {
    case KeyShape::kNotOwned:
      return {};
    case KeyShape::kOwner:
    case KeyShape::kOwnerAndKey:
      if (!keys::ReadComponent(key, pos) || !keys::ReadComponent(key, pos)) return {};
      return key.substr(0, pos);
    case KeyShape::kTrusted: {
      if (!keys::ReadComponent(key, pos) || pos >= key.size()) return {};
      const size_t tenant_end = pos++;  // then the scope byte
      if (!keys::ReadComponent(key, pos)) return {};
      scratch.assign(key.substr(0, tenant_end));
      scratch.append(key.substr(tenant_end + 1, pos - tenant_end - 1));
      return scratch;
    }
  }
  return {};
}

class OwnerCollector : public rocksdb::WriteBatch::Handler {
 public:
  OwnerCollector(const std::vector<KeyShape>& shapes, OwnerFilter& owners, OwnerFilter& keys)
      : shapes_(shapes), owners_(owners), keys_(keys) {}

  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                        const rocksdb::Slice& /*value*/) override {
    const KeyShape shape = cf < shapes_.size() ? shapes_[cf] : KeyShape::kNotOwned;
    const std::string_view owner = OwnerOf(key.ToStringView(), shape, scratch_);
    if (owner.empty()) return rocksdb::Status::OK();
    if (shape == KeyShape::kOwnerAndKey) keys_.Add(key.ToStringView());
    // A batch's keys come in order, so an owner's keys in one column family
    // are consecutive: each owner is hashed once per column family.
    if (cf == last_cf_ && owner == last_) return rocksdb::Status::OK();
    owners_.Add(owner);
    last_cf_ = cf;
    last_.assign(owner);
    return rocksdb::Status::OK();
  }
  // Merges (identity records) are read like puts.
  rocksdb::Status MergeCF(uint32_t cf, const rocksdb::Slice& key,
                          const rocksdb::Slice& value) override {
    return PutCF(cf, key, value);
  }
  // Deletes leave nothing to read.
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return rocksdb::Status::OK();
  }

 private:
  const std::vector<KeyShape>& shapes_;
  OwnerFilter& owners_;
  OwnerFilter& keys_;
  uint32_t last_cf_ = UINT32_MAX;
  std::string last_, scratch_;
};

}  // namespace

OwnerFilter::OwnerFilter()
    : words_(std::make_unique<std::atomic<uint64_t>[]>(size_t{1}
                                                       << (kBlocksLog2 + kBlockWordsLog2))) {}

// The probes are 9-bit slices of the hash's low 54 bits; the block comes from
// the hash mixed again (its top bits), so it does not repeat a probe's bits.
size_t OwnerFilter::BlockOf(uint64_t hash) {
  return static_cast<size_t>((hash * 0x9e3779b97f4a7c15ULL) >> (64 - kBlocksLog2))
         << kBlockWordsLog2;
}

void OwnerFilter::Add(std::string_view owner) {
  const uint64_t h = engine::StableHash64(owner, kSeed);
  std::atomic<uint64_t>* block = &words_[BlockOf(h)];
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h >> (9 * i)) & 511;
    std::atomic<uint64_t>& word = block[bit >> 6];
    const uint64_t mask = uint64_t{1} << (bit & 63);
    // Set bits are the common case (an owner written again): no store then,
    // so the cache line stays shared between threads.
    if ((word.load(std::memory_order_relaxed) & mask) == 0) {
      word.fetch_or(mask, std::memory_order_relaxed);
    }
  }
}

bool OwnerFilter::MayContain(std::string_view owner) const {
  const uint64_t h = engine::StableHash64(owner, kSeed);
  const std::atomic<uint64_t>* block = &words_[BlockOf(h)];
  for (int i = 0; i < kProbes; ++i) {
    const uint64_t bit = (h >> (9 * i)) & 511;
    if ((block[bit >> 6].load(std::memory_order_relaxed) & (uint64_t{1} << (bit & 63))) == 0) {
      return false;
    }
  }
  return true;
}

absl::Status AddOwners(const rocksdb::WriteBatch& batch, const std::vector<KeyShape>& shapes,
                       OwnerFilter& owners, OwnerFilter& keys) {
  OwnerCollector collector(shapes, owners, keys);
  rocksdb::Status s = batch.Iterate(&collector);
  if (!s.ok()) return absl::InternalError(absl::StrCat("reading a write batch: ", s.ToString()));
  return absl::OkStatus();
}

}  // namespace trailsentry::storage::internal
