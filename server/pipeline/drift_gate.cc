#include "server/pipeline/drift_gate.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace trailsentry::pipeline {

DriftGate::DriftGate(int64_t bound_ms, int lanes)
    : bound_(std::max<int64_t>(bound_ms, 0)),
      lanes_(std::max(lanes, 1)),
      lane_(new Lane[static_cast<size_t>(std::max(lanes, 1))]) {}

int DriftGate::Open() {
  engine::MutexLock lock(&mu_);
  int free = -1;
  mu_.Await([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (int i = 0; i < lanes_; ++i) {
      if (lane_[i].order.load(std::memory_order_acquire) == 0) {
        free = i;
        return true;
      }
    }
    return false;
  });
  Lane& lane = lane_[free];
  lane.limit = INT64_MIN;
  lane.progress.store(INT64_MIN, std::memory_order_relaxed);
  lane.order.store(next_order_++, std::memory_order_release);
  return free;
}

engine::EventTime DriftGate::Limit(const Lane& lane) const {
  const uint64_t order = lane.order.load(std::memory_order_relaxed);
  engine::EventTime slowest = INT64_MAX;
  for (int i = 0; i < lanes_; ++i) {
    const Lane& other = lane_[i];
    const uint64_t o = other.order.load(std::memory_order_acquire);
    if (o == 0 || o >= order) continue;
    slowest = std::min(slowest, other.progress.load(std::memory_order_acquire));
  }
  if (slowest == INT64_MAX) return INT64_MAX;
  if (slowest == INT64_MIN) return INT64_MIN;
  return slowest > INT64_MAX - bound_ ? INT64_MAX : slowest + bound_;
}

void DriftGate::Admit(int lane_index, engine::EventTime time) {
  Lane& lane = lane_[lane_index];
  if (time > lane.limit) {
    lane.limit = Limit(lane);
    if (time > lane.limit) {
      waits_.fetch_add(1, std::memory_order_relaxed);
      // Rare (a thread ahead by more than the bound): poll, backing off. The
      // earliest open lane never waits, so this always ends.
      for (int spins = 0; time > (lane.limit = Limit(lane)); ++spins) {
        if (spins < 64) {
          std::this_thread::yield();
        } else {
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
      }
    }
  }
  if (time > lane.progress.load(std::memory_order_relaxed)) {
    lane.progress.store(time, std::memory_order_release);
  }
}

void DriftGate::Finish(int lane) {
  lane_[lane].progress.store(INT64_MAX, std::memory_order_release);
}

void DriftGate::Release(int lane) {
  engine::MutexLock lock(&mu_);
  lane_[lane].order.store(0, std::memory_order_release);
  mu_.NotifyAll();
}

}  // namespace trailsentry::pipeline
