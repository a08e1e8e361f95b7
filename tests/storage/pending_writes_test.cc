// PendingWrites (the write-behind journal's pending set) against a real
// RocksDB in a temp dir: folding batches and writing what is pending, in
// chunks, leaves a database exactly as writing each batch in turn does.
#include "storage/internal/pending_writes.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/write_batch.h>

#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/testing/temp_dir.h"

namespace trailsentry::testing {
namespace {

using storage::internal::PendingWrites;

// Adds 8-byte little-endian counters: associative, so RocksDB calls it both
// to combine operands and to lay them over a value.
class AddCounters final : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* out, rocksdb::Logger*) const override {
    uint64_t a = 0, b = 0;
    if (value.size() != 8 || (existing != nullptr && existing->size() != 8)) return false;
    if (existing != nullptr) std::memcpy(&a, existing->data(), 8);
    std::memcpy(&b, value.data(), 8);
    a += b;
    out->assign(reinterpret_cast<const char*>(&a), 8);
    return true;
  }
  const char* Name() const override { return "AddCounters"; }
};

std::string Counter(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }

// A database with "default" (no merge operator) and "counters" (AddCounters).
struct Db {
  explicit Db(const std::string& path) {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    rocksdb::ColumnFamilyOptions counters;
    counters.merge_operator = merge;
    std::vector<rocksdb::ColumnFamilyHandle*> h;
    rocksdb::DB* raw = nullptr;
    const rocksdb::Status s =
        rocksdb::DB::Open(o, path, {{"default", {}}, {"counters", counters}}, &h, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db.reset(raw);
    handles = h;
  }
  ~Db() {
    for (auto* h : handles) (void)db->DestroyColumnFamilyHandle(h);
  }
  // Every key of both families, as "family/key" -> value.
  std::map<std::string, std::string> Contents() const {
    std::map<std::string, std::string> out;
    for (auto* h : handles) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        out[absl::StrCat(h->GetName(), "/", it->key().ToString())] = it->value().ToString();
      }
      EXPECT_TRUE(it->status().ok());
    }
    return out;
  }

  std::shared_ptr<rocksdb::MergeOperator> merge = std::make_shared<AddCounters>();
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
};

// A random batch over a few keys of both families: puts and deletes in both,
// merges in "counters", now and then a range delete.
rocksdb::WriteBatch RandomBatch(const Db& db, std::mt19937& rng) {
  rocksdb::WriteBatch b;
  const int ops = 1 + static_cast<int>(rng() % 6);
  for (int i = 0; i < ops; ++i) {
    const std::string key = absl::StrCat("k", rng() % 12);
    rocksdb::ColumnFamilyHandle* plain = db.handles[0];
    rocksdb::ColumnFamilyHandle* counters = db.handles[1];
    switch (rng() % 9) {
      case 0:
        EXPECT_TRUE(b.Put(plain, key, absl::StrCat("v", rng() % 100)).ok());
        break;
      case 1:
        EXPECT_TRUE(b.Delete(plain, key).ok());
        break;
      case 2:
        EXPECT_TRUE(b.Put(counters, key, Counter(rng() % 100)).ok());
        break;
      case 3:
        EXPECT_TRUE(b.Delete(counters, key).ok());
        break;
      case 4:
        if (rng() % 4 == 0) {
          const std::string from = absl::StrCat("k", rng() % 12);
          EXPECT_TRUE(b.DeleteRange(rng() % 2 ? plain : counters, from, from + "5").ok());
        }
        break;
      default:
        EXPECT_TRUE(b.Merge(counters, key, Counter(1 + rng() % 5)).ok());
        break;
    }
  }
  return b;
}

TEST(PendingWrites, WritingWhatIsFoldedEqualsWritingEachBatchInTurn) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    TempDir dir;
    Db direct(dir.path() + "/direct"), behind(dir.path() + "/behind");
    std::mt19937 rng(seed);
    PendingWrites pending({nullptr, behind.merge.get()});
    const int rounds = 1 + static_cast<int>(seed % 4);  // applies, each after some batches
    for (int r = 0; r < rounds; ++r) {
      const int batches = 1 + static_cast<int>(rng() % 30);
      for (int i = 0; i < batches; ++i) {
        rocksdb::WriteBatch b = RandomBatch(direct, rng);
        ASSERT_TRUE(direct.db->Write(rocksdb::WriteOptions(), &b).ok());
        ASSERT_TRUE(pending.Fold(b).ok());
      }
      rocksdb::WriteBatch chunk;
      int writes = 0;
      pending.ForEachChunk(3, behind.handles, chunk, [&] {
        EXPECT_TRUE(behind.db->Write(rocksdb::WriteOptions(), &chunk).ok());
        chunk.Clear();
        ++writes;
        return true;
      });
      const size_t keys = pending.keys();
      EXPECT_EQ(writes, keys > 0          ? static_cast<int>((keys + 2) / 3)
                        : pending.empty() ? 0
                                          : 1)
          << "one write per 3 keys (range deletes go with the first)";
      pending.Clear();
      EXPECT_TRUE(pending.empty());
      ASSERT_EQ(behind.Contents(), direct.Contents()) << "after apply " << r;
    }
  }
}

TEST(PendingWrites, FoldingALaterSetEqualsFoldingItsBatches) {
  TempDir dir;
  Db direct(dir.path() + "/direct"), behind(dir.path() + "/behind");
  std::mt19937 rng(7);
  PendingWrites earlier({nullptr, behind.merge.get()}), later({nullptr, behind.merge.get()});
  for (int i = 0; i < 60; ++i) {
    rocksdb::WriteBatch b = RandomBatch(direct, rng);
    ASSERT_TRUE(direct.db->Write(rocksdb::WriteOptions(), &b).ok());
    ASSERT_TRUE((i < 30 ? earlier : later).Fold(b).ok());
  }
  ASSERT_TRUE(earlier.Fold(later).ok());
  rocksdb::WriteBatch chunk;
  earlier.ForEachChunk(1000, behind.handles, chunk, [&] {
    EXPECT_TRUE(behind.db->Write(rocksdb::WriteOptions(), &chunk).ok());
    chunk.Clear();
    return true;
  });
  EXPECT_EQ(behind.Contents(), direct.Contents());
}

TEST(PendingWrites, StopsWhenAChunkIsRefused) {
  PendingWrites pending({nullptr});
  rocksdb::WriteBatch b;
  TempDir dir;
  Db db(dir.path() + "/db");
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.Put(db.handles[0], absl::StrCat("k", i), "v").ok());
  ASSERT_TRUE(pending.Fold(b).ok());
  rocksdb::WriteBatch chunk;
  int calls = 0;
  pending.ForEachChunk(4, db.handles, chunk, [&] {
    ++calls;
    return false;
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(chunk.Count(), 4u);
  EXPECT_EQ(pending.keys(), 10u) << "what is pending stays until Clear";
}

TEST(PendingWrites, RefusesWhatItCannotHoldNamingIt) {
  TempDir dir;
  Db db(dir.path() + "/db");
  {
    PendingWrites pending({nullptr, db.merge.get()});
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Merge(db.handles[0], "k", Counter(1)).ok());
    const absl::Status s = pending.Fold(b);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
  {
    PendingWrites pending({nullptr, db.merge.get()});
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.SingleDelete(db.handles[0], "k").ok());
    const absl::Status s = pending.Fold(b);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find("single delete"), std::string::npos) << s;
  }
  {
    PendingWrites pending({nullptr, db.merge.get()});
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Put(db.handles[1], "k", Counter(1)).ok());
    ASSERT_TRUE(b.Merge(db.handles[1], "k", "not a counter").ok());
    const absl::Status s = pending.Fold(b);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  }
}

}  // namespace
}  // namespace trailsentry::testing
