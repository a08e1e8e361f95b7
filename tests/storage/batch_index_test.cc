// internal::BatchIndex: ids to indices, emptied between batches in constant
// time, checked against a map that is rebuilt each batch.
#include "storage/internal/batch_index.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <utility>
#include <vector>

namespace trailsentry::testing {
namespace {

using engine::StableHash128;
using storage::internal::BasicBatchIndex;
using storage::internal::BatchIndex;

// Ids that share their low bits (they probe the same slots) or not; none is
// all zero bits, as a slot never filled is.
StableHash128 Id(uint64_t n, bool crowded) {
  return crowded ? StableHash128{n + 1, 42} : StableHash128{(n + 1) * 0x9e3779b97f4a7c15ULL, n + 1};
}

// Batches of many sizes (large ones, then small ones, then larger again), with
// ids set, set back to kNone, set anew, prefetched and looked up, each batch
// against a map; `rounds` times over (an 8-bit generation wraps again and again).
template <typename Generation>
void CheckAgainstModel(bool crowded, int rounds) {
  BasicBatchIndex<Generation> index;
  constexpr uint32_t kNone = BasicBatchIndex<Generation>::kNone;
  std::mt19937_64 random(crowded ? 1 : 2);
  uint64_t batch = 0;
  for (int round = 0; round < rounds; ++round) {
    for (const size_t ids : {5000, 3, 0, 40, 300, 1, 20000, 7}) {
      std::map<uint64_t, uint32_t> model;
      const uint64_t first = 100000 * batch++;  // each batch its own ids
      const uint64_t universe = crowded ? std::min<size_t>(ids, 200) : ids;
      for (size_t op = 0; op < 4 * universe; ++op) {
        const uint64_t n = first + random() % universe;
        const StableHash128 id = Id(n, crowded);
        const auto want = model.find(n);
        const uint32_t have = want == model.end() ? kNone : want->second;
        index.Prefetch(id);  // a hint: changes nothing (the first is on an empty index)
        switch (random() % 4) {
          case 0:
          case 1: {  // set if it has none
            uint32_t& value = index[id];
            ASSERT_EQ(value, have) << "id " << n;
            if (value == kNone) value = model[n] = static_cast<uint32_t>(op);
            break;
          }
          case 2:  // set back to none
            index[id] = kNone;
            model.erase(n);
            break;
          default:
            ASSERT_EQ(index.Find(id), have) << "id " << n;
        }
      }
      for (uint64_t n = first; n < first + universe + 10; ++n) {
        const auto want = model.find(n);
        ASSERT_EQ(index.Find(Id(n, crowded)), want == model.end() ? kNone : want->second)
            << "id " << n << " after a batch of " << ids << ", round " << round;
      }
      index.Clear();
      EXPECT_EQ(index.size(), 0u);
      for (uint64_t n = first; n < first + universe; ++n) {
        ASSERT_EQ(index.Find(Id(n, crowded)), kNone) << "id " << n << " after Clear";
      }
    }
  }
}

TEST(BatchIndexTest, AnswersAsAMapThroughBatchesOfEverySize) {
  CheckAgainstModel<uint32_t>(false, 2);
}

TEST(BatchIndexTest, IdsThatShareTheirLowBitsStayApart) { CheckAgainstModel<uint32_t>(true, 2); }

// Slots filled when an 8-bit generation was 1 must not answer when it is 1
// again, 255 clears later; and the index works on through many wraps.
TEST(BatchIndexTest, NothingComesBackWhenTheGenerationWraps) {
  BasicBatchIndex<uint8_t> index;
  for (uint64_t n = 0; n < 1000; ++n) index[Id(n, false)] = static_cast<uint32_t>(n);
  for (int clears = 1; clears <= 600; ++clears) {
    index.Clear();
    for (uint64_t n = 0; n < 1000; ++n) {
      ASSERT_EQ(index.Find(Id(n, false)), BatchIndex::kNone)
          << "id " << n << ", " << clears << " clears after it was set";
    }
  }
  CheckAgainstModel<uint8_t>(false, 70);  // 8 batches a round: it wraps every 32 rounds
  CheckAgainstModel<uint8_t>(true, 70);
}

TEST(BatchIndexTest, KeepsItsSlotsAcrossClears) {
  BatchIndex index;
  for (uint64_t n = 0; n < 10000; ++n) index[Id(n, false)] = static_cast<uint32_t>(n);
  const uint32_t* before = &index[Id(0, false)];  // at its home slot: no id shares it
  index.Clear();
  // As many ids again: no growth, the same memory.
  for (uint64_t n = 0; n < 10000; ++n) {
    ASSERT_EQ(index[Id(n + 1, false)], BatchIndex::kNone);
    index[Id(n + 1, false)] = 1;
  }
  index.Clear();
  EXPECT_EQ(&index[Id(0, false)], before);
}

}  // namespace
}  // namespace trailsentry::testing
