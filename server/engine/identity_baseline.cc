#include "server/engine/identity_baseline.h"

#include <algorithm>

namespace trailsentry::engine {
namespace {

int64_t Millis(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

bool Overlaps(EventTime a_start, EventTime b_start, int64_t length) {
  return a_start < b_start + length && b_start < a_start + length;
}

}  // namespace

std::vector<IdentityBaseline::Segment> IdentityBaseline::Segments(const Candidate& c,
                                                                  const Config& config) {
  const auto& u = config.unusual_ip;
  const std::vector<Call>& calls = c.calls;
  const int min_calls = c.hostile ? 1 : u.min_distinct_calls;
  const int64_t settle = Millis(u.settle), suppression = Millis(u.suppression);
  std::vector<Segment> out;
  size_t i = 0;
  const size_t n = calls.size();
  while (i < n) {
    // A count starts at this call; it fires when min_distinct_calls distinct
    // actions fall within `settle` of it.
    const EventTime start = calls[i].time;
    std::vector<std::string_view> names;
    size_t j = i;
    EventTime fired_at = -1;
    for (; j < n && calls[j].time <= start + settle; ++j) {
      if (std::find(names.begin(), names.end(), calls[j].action) == names.end()) {
        names.push_back(calls[j].action);
      }
      if (static_cast<int>(names.size()) >= min_calls) {
        fired_at = calls[j].time;
        break;
      }
    }
    if (fired_at < 0) {
      out.push_back({i, j, start, -1});  // settle passed: the next call starts a new count
      i = j;
      continue;
    }
    // One alert per (identity, network) per suppression, from window_start; it
    // holds at least every call up to the one that fired it.
    size_t end = i;
    while (end < n && (calls[end].time < start + suppression || calls[end].time <= fired_at)) {
      ++end;
    }
    out.push_back({i, end, start, fired_at});
    i = end;
  }
  return out;
}

IdentityBaseline::IdentityBaseline(std::optional<IdentityProfile> profile,
                                   const std::vector<std::pair<Network, BaselineEntry>>& networks,
                                   std::vector<TrustedNetwork> trusted)
    : trusted_(std::move(trusted)) {
  if (profile) profile_ = *profile;
  networks_.reserve(networks.size());
  for (auto& [network, entry] : networks) networks_.push_back({network, entry});
}

int64_t IdentityBaseline::ReachMs(const Config& config) {
  return Millis(config.max_lateness + config.unusual_ip.suppression + config.unusual_ip.settle);
}

void IdentityBaseline::InsertCall(Candidate& c, Call call) {
  auto pos =
      std::upper_bound(c.calls.begin(), c.calls.end(), call, [](const Call& a, const Call& b) {
        return std::tie(a.time, a.event_id) < std::tie(b.time, b.event_id);
      });
  c.calls.insert(pos, std::move(call));
}

void IdentityBaseline::Restore(const std::vector<LoggedEvent>& events,
                               const std::vector<Alert>& open_alerts, const Config& config,
                               EventTime newest) {
  const auto& u = config.unusual_ip;
  for (const LoggedEvent& e : events) {
    if (e.kind != LogKind::kUnusualIp) continue;
    std::optional<IpAddress> ip = IpAddress::Parse(e.source_ip);
    if (!ip) continue;  // not written by this engine
    InsertCall(CandidateFor(Network::Of(*ip, u.ipv4_prefix, u.ipv6_prefix)),
               Call{e.time, e.id_hash, e.event_id, e.action, e.provider, e.source_ip, e.region,
                    e.user_agent, e.access_key_id, e.account});
  }
  std::vector<const Alert*> alerts;
  for (const Alert& a : open_alerts) {
    if (a.rule == Rule::kUnusualSourceIp && a.superseded_by.empty()) alerts.push_back(&a);
  }
  // In memory a candidate's alerts are in the order of their segments.
  std::sort(alerts.begin(), alerts.end(),
            [](const Alert* x, const Alert* y) { return x->window_start < y->window_start; });
  for (const Alert* a : alerts) {
    absl::StatusOr<Network> network = Network::ParseCidr(a->network);
    if (!network.ok()) continue;
    CandidateFor(*network).alerts.push_back(std::make_unique<Alert>(*a));
  }
  if (newest != INT64_MIN) Prune(config, newest, nullptr);
}

IdentityBaseline::NetworkState* IdentityBaseline::FindNetwork(const Network& network) {
  for (NetworkState& n : networks_) {
    if (n.network == network) return &n;
  }
  return nullptr;
}

IdentityBaseline::Candidate& IdentityBaseline::CandidateFor(const Network& network) {
  for (Candidate& c : candidates_) {
    if (c.network == network) return c;
  }
  candidates_.push_back(Candidate{network, false, {}, {}});
  return candidates_.back();
}

bool IdentityBaseline::IsKnown(const Network& network, const IpAddress& ip, EventTime t,
                               std::string_view account, const UnusualIpContext& ctx) const {
  const auto& u = ctx.config->unusual_ip;
  for (const NetworkState& n : networks_) {
    if (n.network == network) {
      if (IsKnownAt(n.entry, t, Millis(u.settle), Millis(u.history))) return true;
      break;
    }
  }
  for (const TrustedNetwork& n : trusted_) {
    if (n.Covers(ip, t)) return true;
  }
  for (const Network& n : *ctx.allowlist) {
    if (n.Contains(ip)) return true;
  }
  return ctx.accounts->IsTrusted(ctx.tenant, account, ip, t);
}

UnusualIpResult IdentityBaseline::Evaluate(const UnusualIpInput& in, UnusualIpContext& ctx) {
  const Config& config = *ctx.config;
  const auto& u = config.unusual_ip;
  const EventTime t = in.fields.time;
  const Network network = Network::Of(in.ip, u.ipv4_prefix, u.ipv6_prefix);
  if (ctx.writer != nullptr && !in.failed) {
    ctx.writer->WillObserve(ctx.tenant, ctx.identity, in.fields.account, network);
  }
  UnusualIpResult result;

  // Judge against what was observed strictly before t, then learn from the call.
  const bool mature = profile_.count > 0 && profile_.first_seen <= t - Millis(u.learning) &&
                      profile_.first_seen < t;
  // A hostile network is unusual however the baselines stand, and never learned.
  const bool hostile = ctx.hostile != nullptr && ctx.hostile->Covers(ctx.tenant, in.ip, t);
  result.learning = !mature;
  if (in.discovery &&
      (hostile || (mature && !IsKnown(network, in.ip, t, in.fields.account, ctx)))) {
    bool qualifying = true;
    if (u.require_new_to_account && !hostile) {
      absl::StatusOr<BaselineEntry> account =
          ctx.accounts->Get(ctx.tenant, in.fields.account, network);
      if (!account.ok()) {
        result.status = account.status();
      } else if (IsKnownAt(*account, t, Millis(u.settle), Millis(u.history))) {
        qualifying = false;
      }
    }
    if (qualifying) {
      // The engine has already dropped duplicates: each call is new.
      result.unusual = true;
      Candidate& c = CandidateFor(network);
      c.hostile |= hostile;
      const AlertEventFields& f = in.fields;
      InsertCall(
          c, Call{t, in.id_hash, std::string(f.event_id), std::string(f.action),
                  std::string(f.provider), std::string(f.source_ip), std::string(f.region),
                  std::string(f.user_agent), std::string(f.access_key_id), std::string(f.account)});
      if (ctx.writer != nullptr) {
        ctx.writer->PutEvent(
            ctx.tenant, ctx.identity,
            {LogKind::kUnusualIp, t, in.id_hash, &in.fields, in.identity_type, in.user_name});
      }
      result.logged = true;
      absl::Status s = Rebuild(c, in, ctx, &result.alert_id);
      if (!s.ok()) result.status = s;
    }
  }
  if (!in.failed && hostile) {
    ObserveProfile(profile_, t);
    if (ctx.writer != nullptr) ctx.writer->PutProfile(ctx.tenant, ctx.identity, profile_);
  } else if (!in.failed) {
    Learn(network, t, ctx);
    absl::Status s = ctx.accounts->Observe(ctx.tenant, in.fields.account, network, t, ctx.writer);
    if (!s.ok()) result.status = s;
  }
  Prune(config, ctx.identity_newest, &ctx);
  return result;
}

void IdentityBaseline::Learn(const Network& network, EventTime t, UnusualIpContext& ctx) {
  ObserveProfile(profile_, t);
  NetworkState* n = FindNetwork(network);
  if (n == nullptr) {
    // Grown one at a time: most identities keep a handful of networks, and
    // doubling would leave a third of the vector unused (issue 8: memory per
    // cached identity). A new network is rare next to the calls from known ones.
    networks_.reserve(networks_.size() + 1);
    networks_.push_back({network, {}});
    n = &networks_.back();
  }
  Observe(n->entry, t, Millis(ctx.config->unusual_ip.history));
  if (ctx.writer != nullptr) {
    ctx.writer->PutProfile(ctx.tenant, ctx.identity, profile_);
    ctx.writer->PutBaseline(ctx.tenant, ctx.identity, network, n->entry);
  }
}

absl::Status IdentityBaseline::Rebuild(Candidate& c, const UnusualIpInput& in,
                                       UnusualIpContext& ctx, std::string* alert_of_call) {
  const auto& u = ctx.config->unusual_ip;
  const int64_t settle = Millis(u.settle), suppression = Millis(u.suppression);
  const std::string network_text = c.network.ToString();
  absl::Status status;
  std::vector<std::unique_ptr<Alert>> rebuilt;
  for (const Segment& seg : Segments(c, *ctx.config)) {
    if (seg.fired_at < 0) continue;
    const size_t i = seg.begin, end = seg.end;
    const EventTime start = seg.start, fired_at = seg.fired_at;
    // The alert this segment continues: an existing one whose suppression span overlaps.
    std::unique_ptr<Alert> alert;
    for (auto& old : c.alerts) {
      if (old && Overlaps(old->window_start, start, suppression)) {
        if (!alert) {
          alert = std::move(old);
        } else {
          old->superseded_by = alert->alert_id;  // two segments joined by a late call
          ++old->update_count;
          ctx.changes->push_back(AlertChange{false, *old});
          if (ctx.writer) ctx.writer->PutAlert(*old);
          old.reset();
        }
      }
    }
    const bool fresh = !alert;
    auto next = std::make_unique<Alert>();
    Alert& a = *next;
    a.rule = Rule::kUnusualSourceIp;
    a.alert_id = fresh ? MakeAlertId(kUnusualIpRuleId, ctx.tenant,
                                     std::string(ctx.identity) + "|" + network_text, start)
                       : alert->alert_id;
    a.update_count = fresh ? 0 : alert->update_count;
    a.opened_at = fresh ? start : alert->opened_at;
    a.tenant = ctx.tenant;
    a.identity = ctx.identity;
    a.identity_type = in.identity_type;
    a.user_name = in.user_name;
    a.window_start = start;
    a.window_end = fired_at;
    a.network = network_text;
    for (size_t k = i; k < end; ++k) {
      const Call& call = c.calls[k];
      a.AddEvent({call.time, call.event_id, call.action, call.provider, call.source_ip, call.region,
                  call.user_agent, call.access_key_id, call.account});
      if (call.event_id == in.fields.event_id && call.time == in.fields.time) {
        *alert_of_call = a.alert_id;
      }
    }
    // Context as of the firing call: the account's view of the network, and the
    // identity's known networks.
    // Whether the network is new to the account is decided when the alert opens.
    if (fresh) {
      absl::StatusOr<BaselineEntry> account =
          ctx.accounts->Get(ctx.tenant, c.calls[i].account, c.network);
      if (!account.ok()) {
        status = account.status();
      } else {
        a.new_to_account = !IsKnownAt(*account, fired_at, settle, Millis(u.history));
      }
    } else {
      a.new_to_account = alert->new_to_account;
    }
    a.baseline_since = profile_.first_seen;
    std::vector<const NetworkState*> known;
    for (const NetworkState& ns : networks_) {
      if (IsKnownAt(ns.entry, fired_at, settle, Millis(u.history))) known.push_back(&ns);
    }
    // The networks learned most recently first (ties by address). Not by last
    // seen: that moves with every later call, is kept on disk only to the
    // coalescing step, and would make the list depend on arrival order.
    std::sort(known.begin(), known.end(), [](const NetworkState* x, const NetworkState* y) {
      if (x->entry.first_seen != y->entry.first_seen) {
        return x->entry.first_seen > y->entry.first_seen;
      }
      return NetworkBytes(x->network) < NetworkBytes(y->network);
    });
    a.known_network_count = static_cast<int>(known.size());
    for (size_t k = 0; k < known.size() && k < 3; ++k) {
      a.recent_known_networks.push_back(known[k]->network.ToString());
    }
    const bool changed = fresh || alert->event_count != a.event_count ||
                         alert->window_start != a.window_start || alert->window_end != a.window_end;
    if (changed) {
      if (!fresh) ++a.update_count;
      ctx.changes->push_back(AlertChange{fresh, a});
      if (ctx.writer) ctx.writer->PutAlert(a);
    } else {
      next = std::move(alert);  // unchanged: keep it as it was reported
      if (alert_of_call->empty()) {
        for (size_t k = i; k < end; ++k) {
          if (c.calls[k].event_id == in.fields.event_id) *alert_of_call = next->alert_id;
        }
      }
    }
    rebuilt.push_back(std::move(next));
  }
  // Alerts no segment continues (cannot happen as calls are only added) are kept.
  for (auto& old : c.alerts) {
    if (old) rebuilt.push_back(std::move(old));
  }
  c.alerts = std::move(rebuilt);
  return status;
}

void IdentityBaseline::Prune(const Config& config, EventTime newest, const UnusualIpContext* ctx) {
  StateWriter* writer = ctx != nullptr ? ctx->writer : nullptr;
  const auto& u = config.unusual_ip;
  const EventTime horizon = newest - Millis(config.max_lateness);
  // Calls before this can no longer join a count or an alert a new call can reach.
  const EventTime keep_after = horizon - Millis(u.suppression) - Millis(u.settle);
  for (Candidate& c : candidates_) {
    // An alert no call within reach can continue.
    std::erase_if(c.alerts, [&](const std::unique_ptr<Alert>& a) {
      return a->window_start + Millis(u.suppression) < horizon;
    });
    if (c.calls.empty() || c.calls.front().time > keep_after) continue;
    // Drop whole segments only, so the counts after them start where they did.
    size_t drop = 0;
    for (const Segment& seg : Segments(c, config)) {
      if (c.calls[seg.end - 1].time > keep_after ||
          seg.start + Millis(u.suppression) >= keep_after) {
        break;
      }
      drop = seg.end;
    }
    if (writer != nullptr) {
      for (size_t k = 0; k < drop; ++k) {
        writer->DeleteEvent(ctx->tenant, ctx->identity, LogKind::kUnusualIp, c.calls[k].time,
                            c.calls[k].id_hash);
      }
    }
    c.calls.erase(c.calls.begin(), c.calls.begin() + static_cast<ptrdiff_t>(drop));
  }
  std::erase_if(candidates_,
                [](const Candidate& c) { return c.calls.empty() && c.alerts.empty(); });
}

void IdentityBaseline::Trust(const TrustedNetwork& trusted) {
  for (TrustedNetwork& n : trusted_) {
    if (n.network == trusted.network) {
      n = trusted;
      return;
    }
  }
  trusted_.push_back(trusted);
}

bool IdentityBaseline::Untrust(const Network& network) {
  return std::erase_if(trusted_, [&](const TrustedNetwork& n) { return n.network == network; }) > 0;
}

std::vector<KnownNetwork> IdentityBaseline::Networks(const Config& config, EventTime now) const {
  const auto& u = config.unusual_ip;
  std::vector<KnownNetwork> out;
  out.reserve(networks_.size());
  for (const NetworkState& n : networks_) {
    out.push_back({n.network.ToString(), n.entry,
                   IsKnownAt(n.entry, now, Millis(u.settle), Millis(u.history)), false});
  }
  for (const TrustedNetwork& n : trusted_) {
    out.push_back({n.network.ToString(), {}, now < n.until, true});
  }
  std::sort(out.begin(), out.end(), [](const KnownNetwork& a, const KnownNetwork& b) {
    return a.entry.last_seen > b.entry.last_seen;
  });
  return out;
}

std::vector<const Alert*> IdentityBaseline::OpenAlerts() const {
  std::vector<const Alert*> out;
  for (const Candidate& c : candidates_) {
    for (const auto& a : c.alerts) {
      if (a && a->superseded_by.empty()) out.push_back(a.get());
    }
  }
  return out;
}

}  // namespace trailsentry::engine
