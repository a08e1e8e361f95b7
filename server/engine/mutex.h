// Mutex: std::mutex with clang's thread-safety annotations.
//
// absl::Mutex carries the annotations too, but Debian ships abseil built without
// ThreadSanitizer, so TSan cannot see its locking and reports every access it
// guards; std::mutex is seen through pthread. This gives both: -Wthread-safety
// checks GUARDED_BY / EXCLUSIVE_LOCKS_REQUIRED at compile time, TSan checks the
// running code.
//
//   Mutex mu;
//   int n ABSL_GUARDED_BY(mu);
//   { MutexLock lock(&mu); ++n; mu.NotifyAll(); }
//   { MutexLock lock(&mu); mu.Await([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return n > 0; }); }
#ifndef TRAILSENTRY_SERVER_ENGINE_MUTEX_H_
#define TRAILSENTRY_SERVER_ENGINE_MUTEX_H_

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace trailsentry::engine {

class ABSL_LOCKABLE Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

  // With the lock held: waits until `ready()` is true (re-checked after each
  // NotifyAll), holding the lock again when it returns.
  template <typename Pred>
  void Await(Pred ready) ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    cv_.wait(lock, ready);
    lock.release();
  }
  // The same, giving up after `timeout`; returns ready().
  template <typename Pred, typename Rep, typename Period>
  bool AwaitFor(Pred ready, std::chrono::duration<Rep, Period> timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(this) {
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    const bool result = cv_.wait_for(lock, timeout, ready);
    lock.release();
    return result;
  }
  // Wakes every Await to re-check its condition (call after changing it).
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_MUTEX_H_
