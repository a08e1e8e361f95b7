#include "server/engine/engine.h"

#include "server/engine/config_loader.h"
#include "server/engine/stable_hash.h"

namespace trailsentry::engine {
namespace {

struct ThreadBuffers {
  std::string key;       // tenant '\0' identity
  std::string identity;  // composed identity key when there is no ARN
  std::string content;   // an event's content, hashed when it has no eventID
};

ThreadBuffers& Buffers() {
  thread_local ThreadBuffers buffers;
  return buffers;
}

// Identifies an event within its identity: its eventID, or, without one, what
// it says (time, call, source, client, outcome).
uint64_t EventIdHash(const Event& ev) {
  if (!ev.event_id.empty()) return StableHash64(ev.event_id, 0);
  std::string& c = Buffers().content;
  c.assign(reinterpret_cast<const char*>(&ev.time), sizeof ev.time);
  for (std::string_view part : {ev.event_source, ev.event_name, ev.source_ip, ev.user_agent,
                                ev.error_code, ev.access_key_id, ev.aws_region}) {
    c.append(part);
    c.push_back('\0');
  }
  return StableHash64(c, 1);
}

// The source IP as alerts show it: an IPv4-mapped IPv6 address as the IPv4
// address it is (the network is computed from that too), so one address has one
// spelling.
std::string_view CanonicalIpText(std::string_view raw, const IpAddress& ip) {
  if (!ip.is_v4() || raw.find(':') == std::string_view::npos) return raw;
  thread_local std::string text;
  text = ip.ToString();
  return text;
}

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

}  // namespace

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(const Config& config, StateReader* reader) {
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  std::vector<Network> allowlist;
  for (const std::string& cidr : config.unusual_ip.network_allowlist) {
    absl::StatusOr<Network> n = Network::ParseCidr(cidr);
    if (!n.ok()) return n.status();
    allowlist.push_back(*n);
  }
  std::unique_ptr<Engine> engine(new Engine(config, reader, std::move(allowlist)));
  if (absl::Status s = engine->hostile_->Load(); !s.ok()) return s;
  return engine;
}

Engine::Engine(const Config& config, StateReader* reader, std::vector<Network> allowlist)
    : config_(config),
      classifier_(config),
      max_lateness_(Millis(config.max_lateness)),
      idle_limit_(Millis(config.max_lateness + config.burst.window + config.burst.suppression)),
      cached_per_shard_(
          static_cast<size_t>((config.server.cached_identities + kShards - 1) / kShards)),
      reach_(Reach(config)),
      reader_(reader),
      allowlist_(std::move(allowlist)),
      accounts_(
          std::make_unique<AccountBaselines>(config_, reader, size_t{4} << 20, &min_in_flight_)),
      hostile_(std::make_unique<HostileNetworks>(reader)),
      shards_(std::make_unique<Shard[]>(kShards)) {}

LogReach Engine::Reach(const Config& config) {
  const int64_t idle_limit =
      Millis(config.max_lateness + config.burst.window + config.burst.suppression);
  return {.seen_ms = Millis(config.max_lateness),
          .burst_ms = idle_limit,
          .alerts_ms = std::max(idle_limit, IdentityBaseline::ReachMs(config))};
}

Engine::Shard& Engine::ShardFor(std::string_view tenant, std::string_view identity,
                                StableHash128& key) {
  ThreadBuffers& buf = Buffers();
  buf.key.assign(tenant);
  buf.key.push_back('\0');
  buf.key.append(identity);
  key = StableHash128Of(buf.key);
  // The shard comes from the high hash: each shard's map hashes the low one, whose
  // bits must not be the same for every key in a shard.
  return shards_[key.high % kShards];
}

absl::Status Engine::LoadIdentity(std::string_view tenant, std::string_view identity,
                                  IdentitySlot& slot, Shard& shard) {
  StoredIdentity stored;
  absl::Status status;
  if (reader_ != nullptr) {
    absl::StatusOr<StoredIdentity> loaded = reader_->LoadIdentity(tenant, identity, reach_);
    if (loaded.ok()) {
      stored = *std::move(loaded);
    } else {
      status = loaded.status();
    }
  }
  if (stored.profile && stored.profile->count > 0) slot.newest = stored.profile->last_seen;
  slot.newest = std::max(slot.newest, stored.newest_logged);
  for (const LoggedEvent& e : stored.events) {
    if (e.time >= slot.newest - max_lateness_) slot.seen.Insert(e.id_hash, e.time);
  }
  slot.baseline = std::make_unique<IdentityBaseline>(stored.profile, std::move(stored.networks),
                                                     std::move(stored.trusted));
  if (slot.newest == INT64_MIN) return status;  // nothing stored: a new identity
  slot.baseline->Restore(stored.events, stored.open_alerts, config_, slot.newest);
  const bool burst_state =
      std::any_of(stored.events.begin(), stored.events.end(),
                  [](const LoggedEvent& e) { return e.kind == LogKind::kBurst; }) ||
      std::any_of(stored.open_alerts.begin(), stored.open_alerts.end(),
                  [](const Alert& a) { return a.rule == Rule::kBurst; });
  if (burst_state) {
    slot.window = std::make_unique<BurstWindow>();
    std::vector<AlertChange> discard;
    BurstContext ctx{&config_, slot.newest, tenant, identity, &shard.pool, &discard};
    slot.window->Restore(stored.events, stored.open_alerts, ctx);
  }
  return status;
}

void Engine::MarkDirty(IdentitySlot& slot, const StateWriter* writer) {
  if (writer != nullptr) slot.dirty_epoch = std::max(slot.dirty_epoch, writer->epoch());
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
  StableHash128 key;
  Shard& shard = ShardFor(tenant, c.identity, key);
  const size_t changes_before = changes.size();
  const uint64_t id_hash = EventIdHash(ev);

  MutexLock lock(&shard.mu);
  auto [slot_it, inserted] = shard.identities.try_emplace(key);
  IdentitySlot& slot = slot_it->second;
  if (inserted) v.storage = LoadIdentity(tenant, c.identity, slot, shard);
  // Late: older than max_lateness behind the identity's newest event. It is
  // judged by neither rule and teaches nothing, so it can be re-sent any time.
  if (slot.newest != INT64_MIN && ev.time < slot.newest - max_lateness_) {
    v.flags |= kLate;
    return v;
  }
  // A re-sent event within the horizon changes nothing.
  if (!slot.seen.Insert(id_hash, ev.time)) {
    v.flags |= kDuplicate;
    return v;
  }
  slot.newest = std::max(slot.newest, ev.time);
  slot.seen.Prune(slot.newest - max_lateness_);
  MarkDirty(slot, writer);
  AlertEventFields fields;
  fields.time = ev.time;
  fields.event_id = ev.event_id;
  fields.action = ev.event_name;
  fields.provider = ev.event_source;
  fields.source_ip = CanonicalIpText(ev.source_ip, *c.source_ip);
  fields.region = ev.aws_region;
  fields.user_agent = ev.user_agent;
  fields.access_key_id = ev.access_key_id;
  fields.account = c.account;

  bool logged = false;
  if (config_.burst.enabled && c.discovery && c.cli) {
    if (!slot.window) slot.window = std::make_unique<BurstWindow>();
    BurstInput in{fields, ev.identity_type, c.user_name};
    BurstContext ctx{&config_, slot.newest, tenant, c.identity, &shard.pool, &changes};
    v.burst_alert_id = slot.window->Add(in, ctx).alert_id;
    if (writer != nullptr) {
      writer->PutEvent(tenant, c.identity,
                       {LogKind::kBurst, ev.time, id_hash, &fields, ev.identity_type, c.user_name});
    }
    logged = true;
  }

  // Not excluded means the source IP is valid: the unusual-IP rule and baselines.
  if (config_.unusual_ip.enabled) {
    UnusualIpInput in;
    in.fields = fields;
    in.id_hash = id_hash;
    in.ip = *c.source_ip;
    in.identity_type = ev.identity_type;
    in.user_name = c.user_name;
    in.discovery = c.discovery;
    in.failed = c.failed;
    UnusualIpContext ctx{&config_,        tenant, c.identity, slot.newest,   &allowlist_,
                         accounts_.get(), writer, &changes,   hostile_.get()};
    UnusualIpResult r = slot.baseline->Evaluate(in, ctx);
    if (r.learning) v.flags |= kLearning;
    if (r.unusual) v.flags |= kUnusualNetwork;
    logged |= r.logged;
    v.unusual_ip_alert_id = std::move(r.alert_id);
    if (v.storage.ok()) v.storage = r.status;
  }
  for (size_t i = changes_before; i < changes.size(); ++i) {
    changes[i].sequence = alert_changes_.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  if (writer != nullptr) {
    if (!logged) writer->PutEvent(tenant, c.identity, {LogKind::kSeen, ev.time, id_hash});
    for (size_t i = changes_before; i < changes.size(); ++i) {
      if (changes[i].alert.rule == Rule::kBurst) writer->PutAlert(changes[i].alert);
    }
  }

  shard.newest = std::max(shard.newest, ev.time);
  ++shard.evaluated;
  // Sweep idle identities each time the shard's event time moves on by a quarter
  // of the idle limit (a bounded cost per stretch of event time, not per event),
  // once the shard holds more than its share of server.cached_identities: an
  // identity that returns after an idle hour is then still in memory, where
  // reading it back would cost more than the rest of its event.
  if (shard.newest - shard.last_sweep >= idle_limit_ / 4) {
    if (shard.identities.size() > cached_per_shard_) Evict(shard, idle_limit_);
    shard.last_sweep = shard.newest;
  }
  return v;
}

void Engine::BeginBatch(StateWriter& writer) {
  MutexLock lock(&batches_mu_);
  // After a failed batch, new ones wait until the cache has been dropped.
  batches_mu_.Await([&]()
                        ABSL_EXCLUSIVE_LOCKS_REQUIRED(batches_mu_) { return failed_epoch_ == 0; });
  const uint64_t epoch = next_epoch_++;
  in_flight_.insert(epoch);
  min_in_flight_.store(*in_flight_.begin());
  writer.set_epoch(epoch);
}

absl::Status Engine::AwaitCommitTurn(const StateWriter& writer) {
  MutexLock lock(&batches_mu_);
  const auto my_turn = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(batches_mu_) {
    return *in_flight_.begin() == writer.epoch();
  };
  batches_mu_.Await(my_turn);
  return failed_epoch_ == 0 ? absl::OkStatus() : failed_cause_;
}

void Engine::EndBatch(const StateWriter& writer, const absl::Status& committed) {
  MutexLock lock(&batches_mu_);
  in_flight_.erase(writer.epoch());
  if (!committed.ok() && failed_epoch_ == 0) {
    failed_epoch_ = writer.epoch();
    failed_cause_ = committed;
  }
  if (failed_epoch_ != 0 && in_flight_.empty()) {
    DropCache();
    failed_epoch_ = 0;
    failed_cause_ = absl::OkStatus();
  }
  min_in_flight_.store(in_flight_.empty() ? next_epoch_ : *in_flight_.begin());
  batches_mu_.NotifyAll();
}

void Engine::DropCache() {
  if (reader_ == nullptr) return;  // memory is all there is
  reader_->ReadingBack();
  for (int i = 0; i < kShards; ++i) {
    MutexLock lock(&shards_[i].mu);
    for (auto& [key, slot] : shards_[i].identities) {
      if (slot.window) slot.window->ReleaseAll(shards_[i].pool);
    }
    shards_[i].identities.clear();
  }
  accounts_->Clear();
  // A read that fails too leaves the list as it was: storage is failing, every
  // commit is refused until it recovers, and a restart reads disk again.
  (void)hostile_->Load();
}

absl::StatusOr<IdentityView> Engine::GetIdentity(std::string_view tenant,
                                                 std::string_view identity) {
  StableHash128 key;
  Shard& shard = ShardFor(tenant, identity, key);
  MutexLock lock(&shard.mu);
  IdentityView view;
  view.identity = std::string(identity);
  auto it = shard.identities.find(key);
  IdentitySlot scratch;
  const bool resident = it != shard.identities.end();
  IdentitySlot& slot = resident ? it->second : scratch;
  if (!resident) {
    if (absl::Status s = LoadIdentity(tenant, identity, slot, shard); !s.ok()) return s;
  }
  view.profile = slot.baseline->profile();
  view.newest = slot.newest == INT64_MIN ? view.profile.last_seen : slot.newest;
  const int64_t learning = Millis(config_.unusual_ip.learning);
  view.mature = view.profile.count > 0 && view.profile.first_seen <= view.newest - learning;
  view.networks = slot.baseline->Networks(config_, view.newest);
  if (slot.window) {
    view.recent_discovery_calls = slot.window->retained_events();
    view.recent_discovery_actions = slot.window->Actions(shard.pool);
    for (const Alert* a : slot.window->OpenAlerts()) view.open_alerts.push_back(*a);
  }
  for (const Alert* a : slot.baseline->OpenAlerts()) view.open_alerts.push_back(*a);
  if (!resident && scratch.window) scratch.window->ReleaseAll(shard.pool);
  return view;
}

absl::Status Engine::TrustNetwork(std::string_view tenant, TrustScope scope, std::string_view name,
                                  const TrustedNetwork& trusted, StateWriter* writer) {
  if (scope == TrustScope::kAccount) return accounts_->Trust(tenant, name, trusted, writer);
  if (scope == TrustScope::kHostile) {
    hostile_->Mark(tenant, trusted, writer);
    return absl::OkStatus();
  }
  StableHash128 key;
  Shard& shard = ShardFor(tenant, name, key);
  MutexLock lock(&shard.mu);
  auto [it, inserted] = shard.identities.try_emplace(key);
  IdentitySlot& slot = it->second;
  absl::Status status = inserted ? LoadIdentity(tenant, name, slot, shard) : absl::OkStatus();
  slot.baseline->Trust(trusted);
  if (writer != nullptr) writer->PutTrusted(tenant, TrustScope::kIdentity, name, trusted);
  MarkDirty(slot, writer);
  return status;
}

absl::Status Engine::UntrustNetwork(std::string_view tenant, TrustScope scope,
                                    std::string_view name, const Network& network,
                                    StateWriter* writer) {
  bool removed = false;
  absl::Status status;
  if (scope == TrustScope::kAccount) {
    removed = accounts_->Untrust(tenant, name, network, writer);
  } else if (scope == TrustScope::kHostile) {
    removed = hostile_->Unmark(tenant, network, writer);
  } else {
    StableHash128 key;
    Shard& shard = ShardFor(tenant, name, key);
    MutexLock lock(&shard.mu);
    auto [it, inserted] = shard.identities.try_emplace(key);
    IdentitySlot& slot = it->second;
    status = inserted ? LoadIdentity(tenant, name, slot, shard) : absl::OkStatus();
    removed = slot.baseline->Untrust(network);
    if (removed && writer != nullptr) {
      writer->DeleteTrusted(tenant, TrustScope::kIdentity, name, network);
    }
    MarkDirty(slot, writer);
  }
  if (!status.ok()) return status;
  if (!removed) {
    if (scope == TrustScope::kHostile) {
      return absl::NotFoundError(absl::StrCat(network.ToString(), " is not marked hostile"));
    }
    return absl::NotFoundError(absl::StrCat(network.ToString(), " is not trusted for ",
                                            scope == TrustScope::kAccount ? "account " : "",
                                            AbslView(name)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<TrustedNetwork>> Engine::TrustedNetworks(std::string_view tenant,
                                                                    TrustScope scope,
                                                                    std::string_view name) {
  if (scope == TrustScope::kAccount) return accounts_->Trusted(tenant, name);
  if (scope == TrustScope::kHostile) return hostile_->List(tenant);
  StableHash128 key;
  Shard& shard = ShardFor(tenant, name, key);
  MutexLock lock(&shard.mu);
  auto it = shard.identities.find(key);
  if (it != shard.identities.end() && it->second.baseline) return it->second.baseline->trusted();
  if (reader_ == nullptr) return std::vector<TrustedNetwork>{};
  return reader_->LoadTrusted(tenant, TrustScope::kIdentity, name);
}

void Engine::ForgetIdentity(std::string_view tenant, std::string_view identity,
                            StateWriter* writer) {
  StableHash128 key;
  Shard& shard = ShardFor(tenant, identity, key);
  MutexLock lock(&shard.mu);
  // The slot stays, empty, until the delete is committed: an event meanwhile must
  // not read back what is being deleted.
  IdentitySlot& slot = shard.identities[key];
  if (slot.window) slot.window->ReleaseAll(shard.pool);
  slot = IdentitySlot{};
  slot.baseline = std::make_unique<IdentityBaseline>(
      std::nullopt, std::vector<std::pair<Network, BaselineEntry>>{},
      std::vector<TrustedNetwork>{});
  if (writer != nullptr) writer->DeleteIdentity(tenant, identity);
  MarkDirty(slot, writer);
}

size_t Engine::EvictCommitted() {
  size_t evicted = 0;
  for (int i = 0; i < kShards; ++i) {
    MutexLock lock(&shards_[i].mu);
    evicted += Evict(shards_[i], 0);
  }
  accounts_->EvictCommitted();
  return evicted;
}

size_t Engine::Evict(Shard& shard, int64_t idle_limit) {
  // Without a store nothing could be read back: memory is all there is.
  if (reader_ == nullptr) return 0;
  const uint64_t committed_below = std::min(min_in_flight_.load(), reader_->AppliedBelow());
  size_t evicted = 0;
  for (auto it = shard.identities.begin(); it != shard.identities.end();) {
    const IdentitySlot& slot = it->second;
    // Idle: no event for idle_limit behind the shard's newest (a slot that has
    // seen no event, e.g. made by a lookup, is idle).
    const bool idle =
        slot.newest == INT64_MIN || static_cast<__int128>(shard.newest) - slot.newest >= idle_limit;
    if (idle && slot.dirty_epoch < committed_below) {
      if (slot.window) slot.window->ReleaseAll(shard.pool);
      shard.identities.erase(it++);
      ++evicted;
    } else {
      ++it;
    }
  }
  return evicted;
}

EngineStats Engine::Stats() const {
  EngineStats stats;
  for (int i = 0; i < kShards; ++i) {
    MutexLock lock(&shards_[i].mu);
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
