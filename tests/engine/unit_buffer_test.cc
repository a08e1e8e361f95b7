// UnitBuffer against std::string: the same contents after any mix of what
// RecordReader::SplitFile does to a unit (extend and fill, truncate, reserve,
// assign a carried partial line, clear, move to and from the spare pool).
#include "server/engine/unit_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <utility>

namespace trailsentry::engine {
namespace {

TEST(UnitBufferTest, KeepsWhatAStringWouldThroughRandomEdits) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    UnitBuffer b;
    std::string model;
    for (int step = 0; step < 2000; ++step) {
      switch (rng() % 6) {
        case 0: {  // a read: extend, fill part of it, keep what was filled
          const size_t want = rng() % 5000;
          const size_t got = want == 0 ? 0 : rng() % (want + 1);
          const size_t before = b.size();
          char* to = b.Extend(want);
          ASSERT_EQ(b.size(), before + want);
          for (size_t i = 0; i < got; ++i) to[i] = static_cast<char>('a' + rng() % 26);
          model.append(to, got);
          b.Truncate(before + got);
          break;
        }
        case 1:
          if (!model.empty()) {
            const size_t keep = rng() % (model.size() + 1);
            b.Truncate(keep);
            model.resize(keep);
          }
          break;
        case 2:
          b.reserve(b.size() + rng() % 20000);
          break;
        case 3: {
          const std::string carry(rng() % 300, static_cast<char>('A' + rng() % 26));
          b.assign(carry);
          model = carry;
          break;
        }
        case 4:
          if (rng() % 10 == 0) {
            b.clear();
            model.clear();
          }
          break;
        default: {  // to the spare pool and back
          UnitBuffer spare = std::move(b);
          EXPECT_EQ(b.size(), 0u);
          EXPECT_EQ(b.capacity(), 0u);
          b = std::move(spare);
          break;
        }
      }
      ASSERT_EQ(b.view(), model) << "seed " << seed << " step " << step;
      ASSERT_GE(b.capacity(), b.size());
    }
  }
}

TEST(UnitBufferTest, GrowsAtLeastTwofoldAndKeepsItsContents) {
  UnitBuffer b;
  b.assign("abc");
  const size_t first = b.capacity();
  b.reserve(first + 1);
  EXPECT_GE(b.capacity(), 2 * first);
  EXPECT_EQ(b.view(), "abc");
  const size_t before = b.capacity();
  b.reserve(before - 1);  // room enough: nothing moves
  EXPECT_EQ(b.capacity(), before);
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), before);  // kept for the next unit
}

TEST(UnitBufferTest, TruncateNeverGrows) {
  UnitBuffer b;
  b.assign("abcdef");
  b.Truncate(100);
  EXPECT_EQ(b.view(), "abcdef");
  b.Truncate(2);
  EXPECT_EQ(b.view(), "ab");
}

}  // namespace
}  // namespace trailsentry::engine
