#include "server/engine/string_pool.h"

#include "server/engine/absl_view.h"

namespace trailsentry::engine {

StringPool::StringPool() { slots_.push_back(Slot{std::make_unique<std::string>(), 0}); }

uint32_t StringPool::Acquire(std::string_view s) {
  if (s.empty()) return kEmpty;
  if (auto it = index_.find(AbslView(s)); it != index_.end()) {
    ++slots_[it->second].refs;
    return it->second;
  }
  uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
    slots_[id].text->assign(s);
  } else {
    id = static_cast<uint32_t>(slots_.size());
    slots_.push_back(Slot{std::make_unique<std::string>(s), 0});
  }
  slots_[id].refs = 1;
  index_.emplace(absl::string_view(*slots_[id].text), id);
  return id;
}

void StringPool::AddRef(uint32_t id) {
  if (id != kEmpty) ++slots_[id].refs;
}

void StringPool::Release(uint32_t id) {
  if (id == kEmpty) return;
  Slot& slot = slots_[id];
  if (--slot.refs == 0) {
    index_.erase(absl::string_view(*slot.text));
    free_.push_back(id);
  }
}

}  // namespace trailsentry::engine
