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

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const Config& config) {
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  return std::unique_ptr<Engine>(new Engine(config));
}

Engine::Engine(const Config& config)
    : config_(config),
      classifier_(config),
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
  Shard& shard = shards_[absl::Hash<std::string_view>{}(buf.key) % kShards];

  absl::MutexLock lock(&shard.mu);
  auto it = shard.windows.find(buf.key);
  if (it == shard.windows.end()) {
    it = shard.windows.emplace(buf.key, std::make_unique<BurstWindow>()).first;
  }
  BurstWindow& window = *it->second;
  if (c.discovery && c.cli) {
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
    BurstContext ctx{&config_, tenant, c.identity, &shard.pool, &changes};
    AddResult r = window.Add(in, ctx);
    if (r.outcome == AddOutcome::kLate) v.flags |= kLate;
    if (r.outcome == AddOutcome::kDuplicate) v.flags |= kDuplicate;
    v.alert_id = std::move(r.alert_id);
  } else if (window.Touch(ev.time, config_)) {
    v.flags |= kLate;
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
  for (auto it = shard.windows.begin(); it != shard.windows.end();) {
    if (shard.newest - it->second->newest() > idle_limit_) {
      it->second->ReleaseAll(shard.pool);
      shard.windows.erase(it++);
    } else {
      ++it;
    }
  }
}

EngineStats Engine::Stats() const {
  EngineStats stats;
  for (int i = 0; i < kShards; ++i) {
    absl::MutexLock lock(&shards_[i].mu);
    stats.identities += shards_[i].windows.size();
    for (const auto& [key, window] : shards_[i].windows) stats.retained_events += window->retained_events();
    stats.pooled_strings += shards_[i].pool.size();
  }
  return stats;
}

}  // namespace trailsentry::engine
