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

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const Config& config, StateReader* reader) {
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  std::vector<Network> allowlist;
  for (const std::string& cidr : config.unusual_ip.network_allowlist) {
    absl::StatusOr<Network> n = Network::ParseCidr(cidr);
    if (!n.ok()) return n.status();
    allowlist.push_back(*n);
  }
  return std::unique_ptr<Engine>(new Engine(config, reader, std::move(allowlist)));
}

Engine::Engine(const Config& config, StateReader* reader, std::vector<Network> allowlist)
    : config_(config),
      classifier_(config),
      max_lateness_(absl::ToInt64Milliseconds(config.max_lateness)),
      idle_limit_(absl::ToInt64Milliseconds(config.max_lateness + config.burst.window +
                                            config.burst.suppression)),
      reader_(reader),
      allowlist_(std::move(allowlist)),
      accounts_(std::make_unique<AccountBaselines>(config_, reader, size_t{4} << 20)),
      shards_(std::make_unique<Shard[]>(kShards)) {}

Engine::Shard& Engine::ShardFor(std::string_view tenant, std::string_view identity,
                                IdentityHash& key) {
  ThreadBuffers& buf = Buffers();
  buf.key.assign(tenant);
  buf.key.push_back('\0');
  buf.key.append(identity);
  key = HashIdentity(buf.key);
  // The shard comes from the high hash: each shard's map hashes the low one, whose
  // bits must not be the same for every key in a shard.
  return shards_[key.high % kShards];
}

absl::Status Engine::LoadBaseline(std::string_view tenant, std::string_view identity,
                                  IdentitySlot& slot) {
  if (slot.baseline) return absl::OkStatus();
  StoredIdentity stored;
  absl::Status status;
  if (reader_ != nullptr) {
    absl::StatusOr<StoredIdentity> loaded = reader_->LoadIdentity(tenant, identity);
    if (loaded.ok()) {
      stored = *std::move(loaded);
    } else {
      status = loaded.status();
    }
  }
  slot.baseline = std::make_unique<IdentityBaseline>(tenant, identity, std::move(stored));
  return status;
}

absl::Status Engine::LoadIdentity(std::string_view tenant, std::string_view identity,
                                  IdentitySlot& slot, Shard& shard) {
  absl::Status status = LoadBaseline(tenant, identity, slot);
  if (slot.baseline->profile().count > 0) slot.newest = slot.baseline->profile().last_seen;
  if (reader_ == nullptr) return status;
  absl::StatusOr<StoredBurstState> burst = reader_->LoadBurstState(tenant, identity, idle_limit_);
  if (!burst.ok()) return status.ok() ? burst.status() : status;
  if (burst->events.empty() && burst->open_alerts.empty()) return status;
  for (const WindowLogEvent& e : burst->events) slot.newest = std::max(slot.newest, e.time);
  slot.window = std::make_unique<BurstWindow>();
  std::vector<AlertChange> discard;
  BurstContext ctx{&config_, slot.newest, tenant, identity, &shard.pool, &discard};
  slot.window->Restore(*burst, ctx);
  return status;
}

Verdict Engine::Evaluate(std::string_view tenant, const Event& ev,
                         std::vector<AlertChange>& changes, StateWriter* writer) {
  const Classification c = classifier_.Classify(ev, Buffers().identity);
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
  IdentityHash key;
  Shard& shard = ShardFor(tenant, c.identity, key);
  const size_t changes_before = changes.size();

  std::lock_guard<std::mutex> lock(shard.mu);
  auto [slot_it, inserted] = shard.identities.try_emplace(key);
  IdentitySlot& slot = slot_it->second;
  if (inserted && reader_ != nullptr) v.storage = LoadIdentity(tenant, c.identity, slot, shard);
  // Late: older than max_lateness behind the identity's newest event. A late
  // event still teaches the baselines, but is judged by neither rule.
  const bool late = slot.newest != INT64_MIN && ev.time < slot.newest - max_lateness_;
  if (late) {
    v.flags |= kLate;
  } else {
    slot.newest = std::max(slot.newest, ev.time);
  }
  AlertEventFields fields;
  fields.time = ev.time;
  fields.event_id = ev.event_id;
  fields.action = ev.event_name;
  fields.provider = ev.event_source;
  fields.source_ip = ev.source_ip;
  fields.region = ev.aws_region;
  fields.user_agent = ev.user_agent;
  fields.access_key_id = ev.access_key_id;
  fields.account = c.account;

  if (config_.burst.enabled && c.discovery && c.cli && !late) {
    if (!slot.window) slot.window = std::make_unique<BurstWindow>();
    BurstInput in{fields, ev.identity_type, c.user_name};
    BurstContext ctx{&config_, slot.newest, tenant, c.identity, &shard.pool, &changes};
    AddResult r = slot.window->Add(in, ctx);
    if (r.outcome == AddOutcome::kDuplicate) v.flags |= kDuplicate;
    if (r.outcome == AddOutcome::kAdded && writer != nullptr) {
      writer->PutWindowEvent(tenant, c.identity, fields, ev.identity_type, c.user_name);
    }
    v.burst_alert_id = std::move(r.alert_id);
  }

  // Not excluded means the source IP is valid: the unusual-IP rule and baselines.
  if (config_.unusual_ip.enabled && !(v.flags & kDuplicate)) {
    if (absl::Status s = LoadBaseline(tenant, c.identity, slot); !s.ok() && v.storage.ok()) {
      v.storage = s;
    }
    UnusualIpInput in;
    in.fields = fields;
    in.ip = *c.source_ip;
    in.identity_type = ev.identity_type;
    in.user_name = c.user_name;
    in.discovery = c.discovery;
    in.failed = c.failed;
    in.late = late;
    UnusualIpContext ctx{&config_,    tenant,          c.identity, slot.newest,
                         &allowlist_, accounts_.get(), writer,     &changes};
    UnusualIpResult r = slot.baseline->Evaluate(in, ctx);
    if (r.learning) v.flags |= kLearning;
    if (r.unusual) v.flags |= kUnusualNetwork;
    v.unusual_ip_alert_id = std::move(r.alert_id);
    if (v.storage.ok()) v.storage = r.status;
  }
  if (writer != nullptr) {
    for (size_t i = changes_before; i < changes.size(); ++i) {
      if (changes[i].alert.rule == Rule::kBurst) writer->PutAlert(changes[i].alert);
    }
  }

  shard.newest = std::max(shard.newest, ev.time);
  ++shard.evaluated;
  // Sweep idle identities each time the shard's event time moves on by a quarter
  // of the idle limit: a bounded cost per stretch of event time, not per event.
  if (shard.newest - shard.last_sweep >= idle_limit_ / 4) {
    EvictIdle(shard, writer);
    shard.last_sweep = shard.newest;
  }
  return v;
}

absl::StatusOr<IdentityView> Engine::GetIdentity(std::string_view tenant,
                                                 std::string_view identity) {
  IdentityHash key;
  Shard& shard = ShardFor(tenant, identity, key);
  std::lock_guard<std::mutex> lock(shard.mu);
  IdentityView view;
  view.identity = std::string(identity);
  auto it = shard.identities.find(key);
  IdentitySlot scratch;
  IdentitySlot& slot = it != shard.identities.end() ? it->second : scratch;
  if (absl::Status s = LoadBaseline(tenant, identity, slot); !s.ok()) return s;
  view.profile = slot.baseline->profile();
  view.newest = slot.newest == INT64_MIN ? view.profile.last_seen : slot.newest;
  const int64_t learning = absl::ToInt64Milliseconds(config_.unusual_ip.learning);
  view.mature = view.profile.count > 0 && view.profile.first_seen <= view.newest - learning;
  view.networks = slot.baseline->Networks(config_, view.newest);
  if (slot.window) {
    view.recent_discovery_calls = slot.window->retained_events();
    view.recent_discovery_actions = slot.window->Actions(shard.pool);
    for (const Alert* a : slot.window->OpenAlerts()) view.open_alerts.push_back(*a);
  }
  for (const Alert* a : slot.baseline->OpenAlerts()) view.open_alerts.push_back(*a);
  return view;
}

absl::Status Engine::TrustNetwork(std::string_view tenant, TrustScope scope, std::string_view name,
                                  const Network& network, StateWriter* writer) {
  if (scope == TrustScope::kAccount) return accounts_->Trust(tenant, name, network, writer);
  IdentityHash key;
  Shard& shard = ShardFor(tenant, name, key);
  std::lock_guard<std::mutex> lock(shard.mu);
  // A slot made here must be loaded as Evaluate loads a new one (baselines and
  // the burst window log), or the identity's next event would find it half-loaded.
  auto [it, inserted] = shard.identities.try_emplace(key);
  IdentitySlot& slot = it->second;
  absl::Status status =
      inserted && reader_ != nullptr ? LoadIdentity(tenant, name, slot, shard) : absl::OkStatus();
  if (absl::Status s = LoadBaseline(tenant, name, slot); !s.ok() && status.ok()) status = s;
  const auto& trusted = slot.baseline->trusted();
  if (std::find(trusted.begin(), trusted.end(), network) == trusted.end()) {
    slot.baseline->Trust(network);
  }
  if (writer != nullptr) writer->PutTrusted(tenant, TrustScope::kIdentity, name, network);
  return status;
}

void Engine::ForgetIdentity(std::string_view tenant, std::string_view identity) {
  IdentityHash key;
  Shard& shard = ShardFor(tenant, identity, key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.identities.find(key);
  if (it == shard.identities.end()) return;
  if (it->second.window) it->second.window->ReleaseAll(shard.pool);
  shard.identities.erase(it);
}

void Engine::FlushPending(StateWriter* writer) {
  for (int i = 0; i < kShards; ++i) {
    std::lock_guard<std::mutex> lock(shards_[i].mu);
    for (auto& [key, slot] : shards_[i].identities) {
      if (slot.baseline) slot.baseline->FlushPending(writer);
    }
  }
  accounts_->FlushPending(writer);
}

void Engine::EvictIdle(Shard& shard, StateWriter* writer) {
  // Baselines are on disk (what is not yet written is below the last-seen write
  // granularity) and reload on the identity's next event.
  for (auto it = shard.identities.begin(); it != shard.identities.end();) {
    if (shard.newest - it->second.newest > idle_limit_) {
      if (it->second.window) it->second.window->ReleaseAll(shard.pool);
      if (it->second.baseline) it->second.baseline->FlushPending(writer);
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
      if (slot.baseline) ++stats.baselines_loaded;
    }
    stats.pooled_strings += shards_[i].pool.size();
  }
  stats.account_entries_cached = accounts_->cached();
  return stats;
}

}  // namespace trailsentry::engine
