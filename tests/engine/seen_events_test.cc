// SeenEvents against a model that never forgets: for every event within the
// horizon (no older than newest - lateness, the only ones the engine looks up),
// Insert says "duplicate" exactly when the id was inserted before, whether the
// ids are held inline, spilled into a table, or back inline after pruning.
#include "server/engine/seen_events.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace trailsentry::engine {
namespace {

struct Step {
  uint64_t id;
  EventTime time;
};

// Runs `steps` as the engine does (Insert, then Prune from the newest event
// minus `lateness`), skipping events older than the horizon (the engine calls
// them late), and checks every answer against the model.
void RunAgainstModel(const std::vector<Step>& steps, EventTime lateness, SeenEvents& seen) {
  std::set<uint64_t> model;
  EventTime newest = INT64_MIN;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    if (newest != INT64_MIN && s.time < newest - lateness) continue;  // late
    const bool added = model.insert(s.id).second;
    ASSERT_EQ(seen.Insert(s.id, s.time), added) << "step " << i << " id " << s.id;
    newest = std::max(newest, s.time);
    seen.Prune(newest - lateness);
  }
}

TEST(SeenEventsTest, FewIdsStayInlineAndDuplicatesAreFound) {
  SeenEvents seen;
  for (uint64_t id = 1; id <= SeenEvents::kInline; ++id) EXPECT_TRUE(seen.Insert(id, 100));
  for (uint64_t id = 1; id <= SeenEvents::kInline; ++id) EXPECT_FALSE(seen.Insert(id, 100));
  EXPECT_EQ(seen.size(), SeenEvents::kInline);
}

TEST(SeenEventsTest, SpillsPastInlineAndKeepsEveryId) {
  SeenEvents seen;
  constexpr uint64_t kIds = 10 * SeenEvents::kInline;
  for (uint64_t id = 1; id <= kIds; ++id) {
    EXPECT_TRUE(seen.Insert(id, 100));
    seen.Prune(0);  // nothing is old: every id stays
  }
  EXPECT_EQ(seen.size(), kIds);
  for (uint64_t id = 1; id <= kIds; ++id) EXPECT_FALSE(seen.Insert(id, 100)) << id;
}

TEST(SeenEventsTest, PruningForgetsOldIdsInlineAndSpilled) {
  SeenEvents inline_only;
  for (uint64_t id = 1; id <= SeenEvents::kInline; ++id) inline_only.Insert(id, 10);
  inline_only.Prune(11);  // full: scanned, all older
  EXPECT_EQ(inline_only.size(), 0u);

  // Spilled, the table is scanned once the next id would grow it: within a
  // hundred new ids (each followed by a prune), every old id is forgotten and
  // no new one.
  SeenEvents spilled;
  constexpr uint64_t kOld = 4 * SeenEvents::kInline, kNew = 100;
  for (uint64_t id = 1; id <= kOld; ++id) spilled.Insert(id, 10);
  for (uint64_t id = kOld + 1; id <= kOld + kNew; ++id) {
    EXPECT_TRUE(spilled.Insert(id, 20));
    spilled.Prune(15);
  }
  EXPECT_LT(spilled.size(), kOld + kNew);
  for (uint64_t id = kOld + 1; id <= kOld + kNew; ++id) EXPECT_FALSE(spilled.Insert(id, 20)) << id;
  for (uint64_t id = 1; id <= kOld; ++id) EXPECT_TRUE(spilled.Insert(id, 20)) << id;
}

TEST(SeenEventsTest, ATableDrainedByPruningGoesBackInline) {
  SeenEvents seen;
  constexpr uint64_t kBurst = 10 * SeenEvents::kInline;
  for (uint64_t id = 1; id <= kBurst; ++id) seen.Insert(id, 10);  // spilled
  // Quiet: one id per step, each prune keeping only the newest. The table is
  // scanned when full, one id survives, and it goes back inline, where it stays.
  for (uint64_t id = kBurst + 1; id <= kBurst + 200; ++id) {
    EXPECT_TRUE(seen.Insert(id, static_cast<EventTime>(id)));
    seen.Prune(static_cast<EventTime>(id));
  }
  EXPECT_LE(seen.size(), SeenEvents::kInline);
  EXPECT_FALSE(seen.Insert(kBurst + 200, static_cast<EventTime>(kBurst + 200)));
}

TEST(SeenEventsTest, AMovedFromSetHoldsNothingAndCanBeUsedAgain) {
  // Moved as the identity table moves its slots when it grows.
  for (const uint64_t ids : {uint64_t{2}, uint64_t{3} * SeenEvents::kInline}) {
    SeenEvents from;
    for (uint64_t id = 1; id <= ids; ++id) from.Insert(id, 10);
    SeenEvents to(std::move(from));
    EXPECT_EQ(to.size(), ids);
    for (uint64_t id = 1; id <= ids; ++id) EXPECT_FALSE(to.Insert(id, 10)) << id;
    EXPECT_EQ(from.size(), 0u);  // NOLINT(bugprone-use-after-move): what is tested
    EXPECT_TRUE(from.Insert(1, 10));
    SeenEvents assigned;
    assigned = std::move(to);
    EXPECT_EQ(assigned.size(), ids);
    EXPECT_EQ(to.size(), 0u);  // NOLINT(bugprone-use-after-move)
    EXPECT_TRUE(to.Insert(1, 10));
  }
}

// Bursts (more ids than fit inline within the horizon) between quiet spells
// (few), with events out of order within the lateness: every path is taken.
TEST(SeenEventsTest, MatchesModelOnBurstsAndQuietSpells) {
  constexpr EventTime kLateness = 1000;
  for (uint32_t seed = 1; seed <= 50; ++seed) {
    std::mt19937_64 rng(seed);
    std::vector<Step> steps;
    EventTime t = 0;
    uint64_t next_id = 1;
    for (int phase = 0; phase < 20; ++phase) {
      const bool burst = rng() % 2 == 0;
      const int events =
          burst ? 5 + static_cast<int>(rng() % 60) : 1 + static_cast<int>(rng() % 40);
      const EventTime gap = burst ? 10 : 600;  // quiet: ~3 events per horizon
      for (int e = 0; e < events; ++e) {
        t += static_cast<EventTime>(rng() % gap);
        const EventTime jitter = static_cast<EventTime>(rng() % (kLateness / 2));
        steps.push_back({next_id++, t - jitter});
        // Re-sent events: a recent one again (mostly within the horizon), or
        // any earlier one.
        if (rng() % 3 == 0) {
          const size_t back = rng() % std::min<size_t>(steps.size(), 2 * SeenEvents::kInline);
          steps.push_back(rng() % 4 == 0 ? steps[rng() % steps.size()]
                                         : steps[steps.size() - 1 - back]);
        }
      }
    }
    SeenEvents seen;
    RunAgainstModel(steps, kLateness, seen);
    if (HasFatalFailure()) FAIL() << "seed " << seed;
  }
}

}  // namespace
}  // namespace trailsentry::engine
