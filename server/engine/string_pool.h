// StringPool: reference-counted interning of the low-cardinality strings held by
// retained events (action names, IPs, user agents, regions, keys, accounts).
//
// Interning keeps the per-event state small and allocation-free once a value has
// been seen; releasing the last reference frees the string, so the pool stays
// bounded by what live state refers to.
//
//   uint32_t id = pool.Acquire("DescribeInstances");
//   std::string_view s = pool.Get(id);
//   pool.Release(id);
#ifndef TRAILSENTRY_SERVER_ENGINE_STRING_POOL_H_
#define TRAILSENTRY_SERVER_ENGINE_STRING_POOL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace trailsentry::engine {

class StringPool {
 public:
  // Id 0 is the empty string; it is never counted or freed.
  static constexpr uint32_t kEmpty = 0;

  StringPool();
  StringPool(const StringPool&) = delete;
  StringPool& operator=(const StringPool&) = delete;

  // Returns the id of `s`, adding a reference.
  uint32_t Acquire(std::string_view s);
  // Adds a reference to an id already held.
  void AddRef(uint32_t id);
  void Release(uint32_t id);
  std::string_view Get(uint32_t id) const { return *slots_[id].text; }

  size_t size() const { return index_.size(); }

 private:
  struct Slot {
    std::unique_ptr<std::string> text;  // stable address: index_ keys view it
    uint32_t refs = 0;
  };
  absl::flat_hash_map<absl::string_view, uint32_t> index_;  // abseil string hash
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_STRING_POOL_H_
