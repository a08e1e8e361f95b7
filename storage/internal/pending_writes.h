// PendingWrites: the state writes of many commits, folded into one write per
// key (internal to storage; the write-behind journal's pending set, see
// Database::Options::write_behind).
//
// Fold takes a commit's write batch, in commit order: a put or delete replaces
// what the key had pending; a merge operand is combined with the key's pending
// operand (the column family's PartialMerge), or laid over its pending value
// (FullMergeV2: the key then has a put); a range delete drops the pending keys
// it covers and is kept, in order, to be written before every key. Writing
// what is pending (ForEachChunk) then leaves the database as writing each folded
// batch in turn would have.
//
//   PendingWrites pending(merge_operators);   // by column family id; null: none
//   absl::Status s = pending.Fold(commit_batch);
//   pending.ForEachChunk(1000, handles_by_id, chunk, [&] { return Write(chunk); });
//   pending.Clear();
#ifndef TRAILSENTRY_STORAGE_INTERNAL_PENDING_WRITES_H_
#define TRAILSENTRY_STORAGE_INTERNAL_PENDING_WRITES_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace rocksdb {
class ColumnFamilyHandle;
class MergeOperator;
class WriteBatch;
}  // namespace rocksdb

namespace trailsentry::storage::internal {

class PendingWrites {
 public:
  // `merge[id]`: the merge operator of column family id `id` (null or beyond
  // the vector: the family takes no merges).
  explicit PendingWrites(std::vector<const rocksdb::MergeOperator*> merge);

  // Folds the puts, deletes, merges and range deletes of `batch` (column
  // family handles are taken by id). INVALID_ARGUMENT for another kind of
  // operation, or a merge in a family without a merge operator; DATA_LOSS when
  // the operator refuses the operands (damaged). On error, what was folded of
  // `batch` stays folded: the caller must not apply it alone.
  [[nodiscard]] absl::Status Fold(const rocksdb::WriteBatch& batch);
  // Folds `later` (what was folded after this set) into this set.
  [[nodiscard]] absl::Status Fold(const PendingWrites& later);

  // Appends the pending writes to `chunk`, the range deletes first, then one
  // write per key, calling `full` after every `keys` writes and after the
  // last (it empties `chunk`; false: stop). `families[id]`: the handle of
  // column family id `id` (every id folded must have one).
  void ForEachChunk(size_t keys, const std::vector<rocksdb::ColumnFamilyHandle*>& families,
                    rocksdb::WriteBatch& chunk, absl::FunctionRef<bool()> full) const;

  bool empty() const { return keys_.empty() && ranges_.empty(); }
  // Keys with a pending write.
  size_t keys() const { return keys_.size(); }
  // Bytes of keys and values held (roughly what ForEachChunk writes).
  size_t bytes() const { return bytes_; }
  void Clear();

 private:
  friend class PendingFolder;
  enum class Kind : uint8_t { kPut, kDelete, kMerge };
  struct Write {
    Kind kind = Kind::kPut;
    std::string value;  // a put's value, or the combined merge operand
  };
  struct Range {
    uint32_t cf;
    std::string begin, end;
  };
  // Key in keys_: the column family id (4 bytes, big-endian) then the key.
  static std::string PendingKey(uint32_t cf, std::string_view key);
  static void AssignPendingKey(std::string& out, uint32_t cf, std::string_view key);
  // The pending write of `key` in `cf`, and whether it was added now (then a
  // put of nothing).
  std::pair<absl::flat_hash_map<std::string, Write>::iterator, bool> Pending(uint32_t cf,
                                                                             std::string_view key);
  static uint32_t FamilyOf(std::string_view pending_key);

  absl::Status Put(uint32_t cf, std::string_view key, std::string_view value);
  absl::Status Delete(uint32_t cf, std::string_view key);
  absl::Status Merge(uint32_t cf, std::string_view key, std::string_view operand);
  absl::Status DeleteRange(uint32_t cf, std::string_view begin, std::string_view end);
  // Lays `operand` over the key's pending write `w`.
  absl::Status MergeInto(uint32_t cf, std::string_view key, Write& w, std::string_view operand);

  std::vector<const rocksdb::MergeOperator*> merge_;
  absl::flat_hash_map<std::string, Write> keys_;
  std::vector<Range> ranges_;
  size_t bytes_ = 0;
  std::string scratch_;
  std::string lookup_;  // the pending key being looked up (Pending)
};

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_PENDING_WRITES_H_
