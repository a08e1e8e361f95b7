#include "server/pipeline/drift_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace trailsentry::pipeline {
namespace {

TEST(DriftGate, ALaterLaneWaitsUntilEarlierOnesAreWithinTheBound) {
  DriftGate gate(/*bound_ms=*/1000, /*lanes=*/3);
  const int first = gate.Open();
  const int second = gate.Open();
  gate.Admit(first, 10'000);   // the earliest lane never waits
  gate.Admit(second, 11'000);  // within the bound of the first lane's progress
  EXPECT_EQ(gate.waits(), 0u);

  std::atomic<bool> admitted{false};
  std::thread later([&] {
    gate.Admit(second, 15'000);  // 5 s ahead of the first lane: must wait
    admitted = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(admitted);
  gate.Admit(first, 13'500);  // still 1.5 s behind
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(admitted);
  gate.Admit(first, 14'000);  // now within the bound
  later.join();
  EXPECT_TRUE(admitted);
  EXPECT_EQ(gate.waits(), 1u);
}

TEST(DriftGate, AFinishedLaneHoldsNoOneBack) {
  DriftGate gate(1000, 2);
  const int first = gate.Open();
  const int second = gate.Open();
  std::thread later([&] { gate.Admit(second, 1'000'000); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  gate.Finish(first);  // nothing evaluated at all: still releases the later lane
  later.join();
  gate.Release(first);
  // The released lane is reused for the next batch, which comes after `second`.
  const int third = gate.Open();
  EXPECT_EQ(third, first);
  std::thread last([&] { gate.Admit(third, 1'000'500); });
  last.join();  // within the bound of second's progress
}

TEST(DriftGate, OpenWaitsForAFreeLane) {
  DriftGate gate(1000, 1);
  const int only = gate.Open();
  std::atomic<bool> opened{false};
  std::thread next([&] {
    EXPECT_EQ(gate.Open(), only);
    opened = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(opened);
  gate.Finish(only);
  gate.Release(only);
  next.join();
  EXPECT_TRUE(opened);
}

}  // namespace
}  // namespace trailsentry::pipeline
