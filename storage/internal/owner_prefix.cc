#include "storage/internal/owner_prefix.h"

#include <string_view>

#include "storage/keys.h"

namespace trailsentry::storage::internal {
namespace {

// The length of the key's first two components; 0 when it has fewer.
size_t OwnerLength(const rocksdb::Slice& key) {
  const std::string_view k = key.ToStringView();
  size_t pos = 0;
  if (!keys::ReadComponent(k, pos) || !keys::ReadComponent(k, pos)) return 0;
  return pos;
}

class OwnerPrefix : public rocksdb::SliceTransform {
 public:
  // The name is stored with each SST file's filter: a file written with another
  // extractor is read without its prefix filter, never wrongly.
  const char* Name() const override { return "trailsentry.OwnerPrefix.v1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), OwnerLength(key));
  }
  bool InDomain(const rocksdb::Slice& key) const override { return OwnerLength(key) > 0; }
};

}  // namespace

std::shared_ptr<const rocksdb::SliceTransform> NewOwnerPrefix() {
  return std::make_shared<OwnerPrefix>();
}

}  // namespace trailsentry::storage::internal
