// NameSet: a set of strings tuned for the few-entry sets of the config (excluded
// actions, excluded user names, providers). Up to kLinearMax entries it compares
// lengths first and scans; beyond, it hashes.
//
//   NameSet s({"AWSServiceRoleForConfig"});
//   s.contains(user_name);
#ifndef TRAILSENTRY_SERVER_ENGINE_INTERNAL_NAME_SET_H_
#define TRAILSENTRY_SERVER_ENGINE_INTERNAL_NAME_SET_H_

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "server/engine/absl_view.h"

namespace trailsentry::engine::internal {

class NameSet {
 public:
  static constexpr size_t kLinearMax = 8;

  NameSet() = default;
  explicit NameSet(const std::vector<std::string>& names) {
    for (const std::string& n : names) {
      if (std::find(names_.begin(), names_.end(), n) == names_.end()) names_.push_back(n);
    }
    if (names_.size() > kLinearMax) hashed_.insert(names_.begin(), names_.end());
  }

  bool contains(std::string_view s) const {
    if (names_.size() > kLinearMax) return hashed_.contains(AbslView(s));
    for (const std::string& n : names_) {
      if (n.size() == s.size() && (s.empty() || std::memcmp(n.data(), s.data(), s.size()) == 0)) {
        return true;
      }
    }
    return false;
  }
  bool empty() const { return names_.empty(); }

 private:
  std::vector<std::string> names_;
  absl::flat_hash_set<std::string> hashed_;
};

// `key == literal`, with the literal's length known at compile time so the
// comparison inlines instead of calling memcmp (JSON keys are compared ~30 times
// a record).
template <size_t N>
inline bool KeyIs(std::string_view key, const char (&literal)[N]) {
  return key.size() == N - 1 && std::memcmp(key.data(), literal, N - 1) == 0;
}

}  // namespace trailsentry::engine::internal

#endif  // TRAILSENTRY_SERVER_ENGINE_INTERNAL_NAME_SET_H_
