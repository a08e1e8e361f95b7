#include "server/engine/hostile_networks.h"

#include <algorithm>
#include <mutex>

#include "server/engine/absl_view.h"

namespace trailsentry::engine {

absl::Status HostileNetworks::Load() {
  absl::flat_hash_map<std::string, std::vector<TrustedNetwork>> loaded;
  if (reader_ != nullptr) {
    auto stored = reader_->LoadHostile();
    if (!stored.ok()) return stored.status();
    for (auto& [tenant, network] : *stored) loaded[tenant].push_back(network);
  }
  std::unique_lock lock(mu_);
  by_tenant_ = std::move(loaded);
  any_.store(!by_tenant_.empty(), std::memory_order_release);
  return absl::OkStatus();
}

bool HostileNetworks::Covers(std::string_view tenant, const IpAddress& ip, EventTime t) const {
  if (!any_.load(std::memory_order_acquire)) return false;
  std::shared_lock lock(mu_);
  auto it = by_tenant_.find(AbslView(tenant));
  if (it == by_tenant_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](const TrustedNetwork& n) { return n.Covers(ip, t); });
}

void HostileNetworks::Mark(std::string_view tenant, const TrustedNetwork& network,
                           StateWriter* writer) {
  {
    std::unique_lock lock(mu_);
    std::vector<TrustedNetwork>& list = by_tenant_[AbslView(tenant)];
    auto it = std::find_if(list.begin(), list.end(),
                           [&](const TrustedNetwork& n) { return n.network == network.network; });
    if (it == list.end()) {
      list.push_back(network);
    } else {
      *it = network;
    }
    any_.store(true, std::memory_order_release);
  }
  if (writer != nullptr) writer->PutTrusted(tenant, TrustScope::kHostile, "", network);
}

bool HostileNetworks::Unmark(std::string_view tenant, const Network& network, StateWriter* writer) {
  {
    std::unique_lock lock(mu_);
    auto it = by_tenant_.find(AbslView(tenant));
    if (it == by_tenant_.end() || std::erase_if(it->second, [&](const TrustedNetwork& n) {
                                    return n.network == network;
                                  }) == 0) {
      return false;
    }
    if (it->second.empty()) by_tenant_.erase(it);
    any_.store(!by_tenant_.empty(), std::memory_order_release);
  }
  if (writer != nullptr) writer->DeleteTrusted(tenant, TrustScope::kHostile, "", network);
  return true;
}

std::vector<TrustedNetwork> HostileNetworks::List(std::string_view tenant) const {
  std::shared_lock lock(mu_);
  auto it = by_tenant_.find(AbslView(tenant));
  return it == by_tenant_.end() ? std::vector<TrustedNetwork>{} : it->second;
}

}  // namespace trailsentry::engine
