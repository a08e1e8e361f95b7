#include "server/engine/engine.h"

#include "absl/hash/hash.h"
#include "server/engine/config_loader.h"

namespace trailsentry::engine {
namespace {

struct ThreadBuffers {
  std::string key;       // tenant '\0' identity
  std::string identity;  // composed identity key when there is no ARN
};

ThreadBuffers& Buffers() {
  thread_local ThreadBuffers buffers;
  return buffers;
}

IdentityHash HashIdentity(const std::string& key) {
  const absl::string_view k(key);
  return {absl::Hash<std::pair<absl::string_view, uint64_t>>{}({k, 0x9e3779b97f4a7c15ULL}),
          absl::Hash<absl::string_view>{}(k)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const Config& config) {
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  return std::unique_ptr<Engine>(new Engine(config));
}

Engine::Engine(const Config& config)
    : config_(config),
      classifier_(config),
      max_lateness_(absl::ToInt64Milliseconds(config.max_lateness)),
      idle_limit_(absl::ToInt64Milliseconds(config.max_lateness + config.burst.window +
                                            config.burst.suppression)),
      shards_(std::make_unique<Shard[]>(kShards)) {}

Verdict Engine::Evaluate(std::string_view tenant, const Event& ev,
                         std::vector<AlertChange>& changes) {
  ThreadBuffers& buf = Buffers();
  const Classification c = classifier_.Classify(ev, buf.identity);
  Verdict v;
  v.identity = c.identity;
  if (c.discovery) v.flags |= kDiscovery;
  if (c.cli) v.flags |= kCli;
  if (c.exclusion != Exclusion::kNone) {
    v.flags |= kExcluded;
    v.exclusion = c.exclusion;
    return v;
  }
  if (c.identity.empty()) {
    v.flags |= kUnattributable;
    return v;
  }
  buf.key.assign(tenant);
  buf.key.push_back('\0');
  buf.key.append(c.identity);
  const IdentityHash key = HashIdentity(buf.key);
  // The shard comes from the high hash: each shard's map hashes the low one, whose
  // bits must not be the same for every key in a shard.
  Shard& shard = shards_[key.high % kShards];

  std::lock_guard<std::mutex> lock(shard.mu);
  IdentitySlot& slot = shard.identities[key];
  // Late: older than max_lateness behind the identity's newest event.
  if (slot.newest != INT64_MIN && ev.time < slot.newest - max_lateness_) {
    v.flags |= kLate;
    return v;
  }
  slot.newest = std::max(slot.newest, ev.time);
  if (c.discovery && c.cli) {
    if (!slot.window) slot.window = std::make_unique<BurstWindow>();
    BurstInput in;
    in.fields.time = ev.time;
    in.fields.event_id = ev.event_id;
    in.fields.action = ev.event_name;
    in.fields.provider = ev.event_source;
    in.fields.source_ip = ev.source_ip;
    in.fields.region = ev.aws_region;
    in.fields.user_agent = ev.user_agent;
    in.fields.access_key_id = ev.access_key_id;
    in.fields.account = c.account;
    in.identity_type = ev.identity_type;
    in.user_name = c.user_name;
    BurstContext ctx{&config_, slot.newest, tenant, c.identity, &shard.pool, &changes};
    AddResult r = slot.window->Add(in, ctx);
    if (r.outcome == AddOutcome::kDuplicate) v.flags |= kDuplicate;
    v.alert_id = std::move(r.alert_id);
  }
  shard.newest = std::max(shard.newest, ev.time);
  ++shard.evaluated;
  // Sweep idle identities each time the shard's event time moves on by a quarter
  // of the idle limit: a bounded cost per stretch of event time, not per event.
  if (shard.newest - shard.last_sweep >= idle_limit_ / 4) {
    EvictIdle(shard);
    shard.last_sweep = shard.newest;
  }
  return v;
}

void Engine::EvictIdle(Shard& shard) {
  for (auto it = shard.identities.begin(); it != shard.identities.end();) {
    if (shard.newest - it->second.newest > idle_limit_) {
      if (it->second.window) it->second.window->ReleaseAll(shard.pool);
      shard.identities.erase(it++);
    } else {
      ++it;
    }
  }
}

EngineStats Engine::Stats() const {
  EngineStats stats;
  for (int i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    stats.identities += shards_[i].identities.size();
    for (const auto& [key, slot] : shards_[i].identities) {
      if (slot.window) stats.retained_events += slot.window->retained_events();
    }
    stats.pooled_strings += shards_[i].pool.size();
  }
  return stats;
}

}  // namespace trailsentry::engine
