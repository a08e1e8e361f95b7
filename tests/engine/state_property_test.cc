// Properties of the engine's state on sparse multi-day workloads (identities idle
// for hours, so evicted; randomised configurations):
//  - the unusual-source-IP alerts equal a from-scratch evaluation of spec §3;
//  - evicting at random moments, compacting at random moments, keeping state in
//    memory only, and splitting the input into several runs over one data
//    directory (restarts) all give the alerts of one uninterrupted run, ids,
//    contents and update counts included, for both rules;
//  - re-sending any batch changes nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/engine/alert_proto.h"
#include "server/engine/ip_address.h"
#include "server/engine/network.h"
#include "tests/engine/engine_harness.h"
#include "tests/testing/cloudtrail_builder.h"

namespace trailsentry::testing {
namespace {

constexpr int64_t kHour = 3600, kDay = 86400;

struct GenEvent {
  std::string user, ip, action, id, json;
  int64_t second = 0;
  bool discovery = false, failed = false;
};

const std::vector<std::string> kDiscovery = {
    "DescribeInstances", "ListUsers",       "ListRoles",     "GetCallerIdentity",
    "ListBuckets",       "DescribeVpcs",    "ListKeys",      "ListPolicies",
    "DescribeSnapshots", "GetBucketPolicy", "ListFunctions", "DescribeDBInstances"};
const std::vector<std::string> kOther = {"PutObject", "RunInstances", "CreateTags", "AssumeRole",
                                         "UpdateFunctionCode"};

// A few users of one account over three days: sessions hours apart, mostly from
// home addresses, sometimes from an address another user also uses, sometimes
// from one never seen; now and then a CLI recon burst; a few failed calls and
// exact redeliveries.
std::vector<GenEvent> Generate(uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> shared = {"198.51.100.10", "198.51.100.11", "198.51.100.12"};
  std::vector<GenEvent> out;
  const int users = 3 + static_cast<int>(rng() % 4);
  for (int u = 0; u < users; ++u) {
    const std::string user = "user" + std::to_string(u);
    const std::string home = absl::StrCat("203.0.113.", 10 + u);
    const std::string home2 = absl::StrCat("203.0.113.", 100 + u);
    for (int64_t t = rng() % (6 * kHour); t < 3 * kDay; t += kHour + rng() % (9 * kHour)) {
      const int kind = static_cast<int>(rng() % 10);
      std::string ip = kind < 6 ? home : kind < 8 ? home2 : kind < 9 ? pick(shared) : "";
      if (ip.empty()) ip = absl::StrCat("192.0.2.", rng() % 64);  // often never seen before
      const bool burst = rng() % 6 == 0;
      const int calls = burst ? 6 + static_cast<int>(rng() % 4) : 1 + static_cast<int>(rng() % 5);
      int64_t s = t;
      for (int c = 0; c < calls; ++c) {
        GenEvent e;
        e.user = user;
        e.ip = ip;
        e.second = s;
        e.discovery = burst || rng() % 2 == 0;
        e.action = e.discovery ? pick(kDiscovery) : pick(kOther);
        e.failed = rng() % 25 == 0;
        Record r = Record().User(user).AtSecond(s).Action(e.action).Ip(ip).NewId();
        if (e.action == "PutObject" || e.action == "ListBuckets" || e.action == "GetBucketPolicy") {
          r.Source("s3.amazonaws.com");
        } else if (e.action.find("User") != std::string::npos ||
                   e.action.find("Role") != std::string::npos ||
                   e.action.find("Polic") != std::string::npos) {
          r.Source("iam.amazonaws.com");
        }
        if (!burst && rng() % 3 != 0) r.Agent("Boto3/1.34.45 Python/3.11.4 Botocore/1.34.45");
        if (e.failed) r.Error("AccessDenied");
        e.id = r.event_id();
        e.json = r.Json();
        out.push_back(e);
        s += burst ? static_cast<int64_t>(rng() % 2) : static_cast<int64_t>(rng() % 1200);
      }
    }
  }
  // A script on the AWS CLI every few minutes for hours: after its first burst,
  // one episode that goes on far longer than anything held in memory.
  if (rng() % 2 == 0) {
    const std::string user = "cron";
    const int64_t start = kDay + rng() % kDay;
    const int64_t end = start + 3 * kHour + rng() % (6 * kHour);
    for (int64_t t = start; t < end; t += 120 + rng() % 180) {
      const int calls = t == start ? 8 : 1;
      for (int c = 0; c < calls; ++c) {
        GenEvent e;
        e.user = user;
        e.ip = "203.0.113.200";
        e.second = t + c;
        e.discovery = true;
        e.action = c == 0 ? "DescribeInstances" : kDiscovery[c % kDiscovery.size()];
        Record r = Record().User(user).AtSecond(e.second).Action(e.action).Ip(e.ip).NewId();
        e.id = r.event_id();
        e.json = r.Json();
        out.push_back(e);
      }
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const GenEvent& a, const GenEvent& b) { return a.second < b.second; });
  // Exact redeliveries, shortly after the original.
  const size_t n = out.size();
  for (size_t i = 0; i < n / 30; ++i) {
    const size_t k = rng() % n;
    GenEvent copy = out[k];
    out.insert(out.begin() + static_cast<ptrdiff_t>(std::min(n, k + 1 + rng() % 5)), copy);
  }
  return out;
}

engine::Config RandomConfig(std::mt19937& rng) {
  engine::Config c;
  auto minutes = [&](int lo, int hi) {
    return absl::Minutes(lo + static_cast<int>(rng() % (hi - lo + 1)));
  };
  c.max_lateness = minutes(10, 120);
  c.burst.mode = rng() % 3 == 0 ? engine::BurstMode::kTumbling : engine::BurstMode::kSliding;
  c.burst.threshold = 2 + static_cast<int>(rng() % 5);
  c.burst.window = absl::Seconds(5 + static_cast<int>(rng() % 26));
  c.burst.suppression = c.burst.window + absl::Seconds(static_cast<int>(rng() % 1200));
  auto& u = c.unusual_ip;
  u.settle = minutes(10, 120);
  u.learning = absl::Hours(static_cast<int>(rng() % 37));
  u.history = absl::Hours(96 + static_cast<int>(rng() % 200));  // longer than the workload
  u.min_distinct_calls = 1 + static_cast<int>(rng() % 4);
  // From 0 (an alert still holds every call up to the one that fired it) to
  // well past settle.
  u.suppression =
      rng() % 4 == 0 ? absl::Minutes(static_cast<int>(rng() % 60)) : u.settle + minutes(0, 36 * 60);
  u.require_new_to_account = rng() % 4 == 0;
  u.ipv4_prefix = rng() % 3 == 0 ? 24 : 32;
  // Idle identities evicted as soon as they may be, past a few per shard, or
  // (the default) kept.
  const int64_t cached[] = {0, 200, c.server.cached_identities};
  c.server.cached_identities = cached[rng() % 3];
  return c;
}

// ---- spec §3 from scratch ----------------------------------------------------

std::string NetworkOf(const std::string& ip, const engine::Config& config) {
  return engine::Network::Of(*engine::IpAddress::Parse(ip), config.unusual_ip.ipv4_prefix,
                             config.unusual_ip.ipv6_prefix)
      .ToString();
}

// Known at t, from the observation times of one (identity or account, network):
// the latest run before t (a gap longer than history ends a run) started by
// t - settle and was seen since t - history.
bool KnownAt(const std::vector<int64_t>& times, int64_t t, const engine::Config& config) {
  const int64_t settle = absl::ToInt64Seconds(config.unusual_ip.settle);
  const int64_t history = absl::ToInt64Seconds(config.unusual_ip.history);
  int64_t first = -1, last = -1;
  for (int64_t o : times) {  // sorted
    if (o >= t) break;
    if (last < 0 || o - last > history) first = o;
    last = o;
  }
  return last >= 0 && first <= t - settle && last >= t - history;
}

using Canonical =
    std::tuple<std::string /*identity*/, std::string /*network*/, int64_t /*window_start*/,
               int64_t /*window_end*/, int64_t /*event_count*/, std::set<std::string> /*actions*/,
               bool /*new_to_account*/, int /*known networks*/>;

std::set<Canonical> Reference(const std::vector<GenEvent>& all, const engine::Config& config) {
  const auto& u = config.unusual_ip;
  const int64_t learning = absl::ToInt64Seconds(u.learning);
  const int64_t settle = absl::ToInt64Seconds(u.settle);
  const int64_t suppression = absl::ToInt64Seconds(u.suppression);
  std::vector<GenEvent> events;
  std::set<std::string> ids;
  for (const GenEvent& e : all) {
    if (ids.insert(e.id).second) events.push_back(e);
  }
  std::map<std::string, std::vector<int64_t>> profile;  // user -> observation times
  std::map<std::pair<std::string, std::string>, std::vector<int64_t>> identity_obs, account_obs;
  for (const GenEvent& e : events) {
    if (e.failed) continue;
    const std::string net = NetworkOf(e.ip, config);
    profile[e.user].push_back(e.second);
    identity_obs[{e.user, net}].push_back(e.second);
    account_obs[{kAccount, net}].push_back(e.second);
  }
  struct Call {
    int64_t t;
    std::string id, action;
  };
  std::map<std::pair<std::string, std::string>, std::vector<Call>> calls;
  for (const GenEvent& e : events) {
    if (!e.discovery) continue;
    const auto& p = profile[e.user];
    auto first = std::find_if(p.begin(), p.end(), [&](int64_t o) { return o < e.second; });
    const bool mature = first != p.end() && *first <= e.second - learning;
    if (!mature) continue;
    const std::string net = NetworkOf(e.ip, config);
    if (KnownAt(identity_obs[{e.user, net}], e.second, config)) continue;
    if (u.require_new_to_account && KnownAt(account_obs[{kAccount, net}], e.second, config)) {
      continue;
    }
    calls[{e.user, net}].push_back({e.second, e.id, e.action});
  }
  std::set<Canonical> out;
  for (auto& [key, list] : calls) {
    std::sort(list.begin(), list.end(), [](const Call& a, const Call& b) {
      return std::tie(a.t, a.id) < std::tie(b.t, b.id);
    });
    size_t i = 0;
    while (i < list.size()) {
      const int64_t start = list[i].t;
      std::set<std::string> names;
      int64_t fired = -1;
      size_t j = i;
      for (; j < list.size() && list[j].t <= start + settle; ++j) {
        names.insert(list[j].action);
        if (static_cast<int>(names.size()) >= u.min_distinct_calls) {
          fired = list[j].t;
          break;
        }
      }
      if (fired < 0) {  // settle passed without firing: the next call starts a new count
        i = j;
        continue;
      }
      size_t end = i;
      std::set<std::string> actions;
      while (end < list.size() && (list[end].t < start + suppression || list[end].t <= fired)) {
        actions.insert(list[end].action);
        ++end;
      }
      int known = 0;
      for (const auto& [k, times] : identity_obs) {
        if (k.first == key.first && KnownAt(times, fired, config)) ++known;
      }
      out.emplace("arn:aws:iam::111122223333:user/" + key.first, key.second, start, fired,
                  static_cast<int64_t>(end - i), actions,
                  !KnownAt(account_obs[{kAccount, key.second}], fired, config), known);
      i = end;
    }
  }
  return out;
}

// ---- the engine, run in several ways ----------------------------------------

constexpr int64_t kBase = 1773567000;  // TimeAt(0)

std::set<Canonical> UnusualIpAlerts(const std::map<std::string, engine::Alert>& alerts) {
  std::set<Canonical> out;
  for (const auto& [id, a] : alerts) {
    if (a.rule != engine::Rule::kUnusualSourceIp || !a.superseded_by.empty()) continue;
    out.emplace(a.identity, a.network, a.window_start / 1000 - kBase, a.window_end / 1000 - kBase,
                a.event_count, std::set<std::string>(a.actions.begin(), a.actions.end()),
                a.new_to_account, a.known_network_count);
  }
  return out;
}

// Every alert as last reported, by id, in its wire form.
std::map<std::string, std::string> Reported(const std::map<std::string, engine::Alert>& alerts) {
  std::map<std::string, std::string> out;
  for (const auto& [id, a] : alerts) {
    v1::Alert proto;
    engine::ToProto(a, &proto);
    out[id] = proto.ShortDebugString();
  }
  return out;
}

std::string Diff(const std::map<std::string, std::string>& got,
                 const std::map<std::string, std::string>& want) {
  std::string out;
  for (const auto& [id, text] : want) {
    auto it = got.find(id);
    if (it == got.end()) {
      absl::StrAppend(&out, "missing ", text, "\n");
    } else if (it->second != text) {
      absl::StrAppend(&out, "differs:\n  got  ", it->second, "\n  want ", text, "\n");
    }
  }
  for (const auto& [id, text] : got) {
    if (!want.contains(id)) absl::StrAppend(&out, "extra ", text, "\n");
  }
  return out.substr(0, 4000);
}

std::string Describe(const std::set<Canonical>& alerts) {
  std::string out;
  for (const auto& [identity, net, start, end, count, actions, new_to_account, known] : alerts) {
    absl::StrAppend(&out, identity, " ", net, " [", start, ",", end, "] n=", count,
                    " actions=", actions.size(), " new_to_account=", new_to_account,
                    " known=", known, "\n");
  }
  return out;
}

// Every generated user's profile and baselines are the same in both engines.
void ExpectSameIdentities(EngineHarness& want, EngineHarness& got) {
  for (int u = 0; u < 7; ++u) {
    const std::string identity = absl::StrCat("arn:aws:iam::111122223333:user/user", u);
    auto a = want.engine().GetIdentity("default", identity);
    auto b = got.engine().GetIdentity("default", identity);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->profile, b->profile) << identity;
    ASSERT_EQ(a->networks.size(), b->networks.size()) << identity;
    for (size_t k = 0; k < a->networks.size(); ++k) {
      EXPECT_EQ(a->networks[k].network, b->networks[k].network);
      EXPECT_EQ(a->networks[k].entry, b->networks[k].entry) << a->networks[k].network;
    }
  }
}

// Feeds `events` in batches of random size, evicting and compacting at random
// moments and restarting at `restarts` (indices into events). With
// write-behind, the journal is applied at random moments, and a crash restart
// goes on with a copy of the directory taken while open (the journal replayed).
struct RunPlan {
  std::string path;  // "": state in an in-memory database
  std::vector<size_t> restarts;
  bool evict = false, compact = false;
  bool write_behind = false, crash = false;
};

std::map<std::string, engine::Alert> RunPlanned(const std::vector<GenEvent>& events,
                                                const engine::Config& config, const RunPlan& plan,
                                                std::mt19937& rng) {
  EngineHarness h(config,
                  EngineHarness::Store{.path = plan.path, .write_behind = plan.write_behind});
  size_t i = 0, next_restart = 0;
  while (i < events.size()) {
    size_t end = std::min(events.size(), i + 1 + rng() % 40);
    if (next_restart < plan.restarts.size()) end = std::min(end, plan.restarts[next_restart]);
    std::vector<std::string> batch;
    for (size_t k = i; k < end; ++k) batch.push_back(events[k].json);
    h.FeedBatch(batch);
    i = end;
    if (next_restart < plan.restarts.size() && i == plan.restarts[next_restart]) {
      if (plan.crash) {
        h.CrashRestart(absl::StrCat(plan.path, "-crash", next_restart));
      } else {
        h.Restart();
      }
      ++next_restart;
    }
    if (plan.write_behind && rng() % 4 == 0) {
      EXPECT_TRUE(h.db()->ApplyJournal().ok());
    }
    if (plan.evict && rng() % 3 == 0) h.engine().EvictCommitted();
    if (plan.compact && rng() % 50 == 0) {
      EXPECT_TRUE(h.db()->CompactAll().ok());
    }
  }
  return h.AllAlerts();
}

TEST(StateProperty, EvictionsRestartsAndMemoryOnlyGiveTheSameAlertsAsTheSpec) {
  int unusual = 0, burst = 0, configs_with_unusual = 0;
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed * 2654435761u);
    const engine::Config config = RandomConfig(rng);
    const std::vector<GenEvent> events = Generate(seed);
    SCOPED_TRACE(absl::StrCat("seed ", seed, ", ", events.size(), " events"));

    // One uninterrupted run, state in memory only: the reference run.
    EngineHarness memory(config);
    for (const GenEvent& e : events) memory.Feed(e.json);
    const std::map<std::string, engine::Alert> base = memory.AllAlerts();
    const std::set<Canonical> expected = Reference(events, config);
    const std::set<Canonical> got = UnusualIpAlerts(base);
    EXPECT_TRUE(got == expected) << "unusual-IP alerts differ from spec §3\ngot:\n"
                                 << Describe(got) << "expected:\n"
                                 << Describe(expected);
    unusual += static_cast<int>(expected.size());
    configs_with_unusual += expected.empty() ? 0 : 1;
    for (const auto& [id, a] : base) burst += a.rule == engine::Rule::kBurst ? 1 : 0;

    const std::map<std::string, std::string> want = Reported(base);
    TempDir dir;
    std::vector<size_t> restarts;
    for (int k = 0; k < 3; ++k) restarts.push_back(1 + rng() % (events.size() - 1));
    std::sort(restarts.begin(), restarts.end());
    const std::vector<std::pair<std::string, RunPlan>> plans = {
        {"persisted, evicting and compacting", {dir.path() + "/a", {}, true, true}},
        {"in-memory database, evicting", {"", {}, true, false}},
        {"persisted, three restarts", {dir.path() + "/b", restarts, false, false}},
        {"persisted, restarts, evicting and compacting", {dir.path() + "/c", restarts, true, true}},
        {"write-behind, evicting and compacting", {dir.path() + "/d", {}, true, true, true}},
        {"write-behind, three crashes", {dir.path() + "/e", restarts, false, false, true, true}},
        {"write-behind, crashes, evicting and compacting",
         {dir.path() + "/f", restarts, true, true, true, true}},
        {"write-behind in memory, evicting", {"", {}, true, false, true}},
    };
    for (const auto& [name, plan] : plans) {
      const std::map<std::string, std::string> run =
          Reported(RunPlanned(events, config, plan, rng));
      EXPECT_TRUE(run == want) << name << ":\n" << Diff(run, want);
    }
  }
  // The workloads do exercise both rules.
  EXPECT_GT(unusual, 100);
  EXPECT_GT(configs_with_unusual, 30);
  EXPECT_GT(burst, 20);
}

// Re-sending a batch (a client's retry) changes no count, baseline or alert,
// whatever the events are, also after a restart.
TEST(StateProperty, ResentBatchesChangeNothing) {
  for (uint32_t seed = 1; seed <= 10; ++seed) {
    std::mt19937 rng(seed);
    const engine::Config config = RandomConfig(rng);
    const std::vector<GenEvent> events = Generate(seed + 100);
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    TempDir once_dir, twice_dir;
    EngineHarness once(config, once_dir), twice(config, twice_dir);
    for (size_t i = 0; i < events.size(); i += 25) {
      std::vector<std::string> batch;
      for (size_t k = i; k < std::min(events.size(), i + 25); ++k) batch.push_back(events[k].json);
      once.FeedBatch(batch);
      twice.FeedBatch(batch);
      if (rng() % 10 == 0) twice.Restart();
      twice.FeedBatch(batch);  // the retry
    }
    EXPECT_EQ(Reported(twice.AllAlerts()), Reported(once.AllAlerts()));
    ExpectSameIdentities(once, twice);
  }
}

// A batch that does not commit leaves nothing of itself, in memory or on disk,
// and neither does any batch in flight beside it (it may have seen its changes):
// the retry gives what the first try would have.
// With write-behind, the state read back after the failure includes what was
// committed but not yet applied.
TEST(StateProperty, AFailedBatchLeavesNothingOfItself) {
  for (const bool write_behind : {false, true}) {
    SCOPED_TRACE(write_behind ? "write-behind" : "direct");
    const std::vector<GenEvent> events = Generate(7);
    std::mt19937 rng(7);
    const engine::Config config = RandomConfig(rng);
    TempDir clean_dir, failing_dir;
    EngineHarness clean(config, clean_dir);
    EngineHarness failing(config, EngineHarness::Store{.path = failing_dir.path() + "/data",
                                                       .write_behind = write_behind});
    storage::Database& db = *failing.db();
    for (size_t i = 0; i < events.size(); i += 20) {
      std::vector<std::string> batch;
      for (size_t k = i; k < std::min(events.size(), i + 20); ++k) batch.push_back(events[k].json);
      clean.FeedBatch(batch);
      if (i % 60 == 0) {
        // The batch and a later one beside it are evaluated; the first fails to
        // commit (as on a full disk), so the second may not commit either.
        storage::StateBatch first(db), second(db);
        engine::Engine& engine = failing.engine();
        engine.BeginBatch(first);
        engine.BeginBatch(second);
        simdjson::dom::parser parser;
        std::vector<engine::AlertChange> changes;
        for (const std::string& json : batch) {
          simdjson::padded_string padded(json);
          engine::Event ev;
          ASSERT_FALSE(engine::ParseRecord(parser.parse(padded).value(), ev));
          engine.Evaluate("default", ev, changes, &first);
          engine.Evaluate("default", ev, changes, &second);  // duplicates of the first's
        }
        engine.EndBatch(first, absl::UnavailableError("disk gone"));
        const absl::Status turn = engine.AwaitCommitTurn(second);
        EXPECT_EQ(turn.message(), "disk gone") << "the later batch learns the earlier one's cause";
        engine.EndBatch(second, turn);
      }
      failing.FeedBatch(batch);  // the retry
    }
    EXPECT_EQ(Reported(failing.AllAlerts()), Reported(clean.AllAlerts()));
    ExpectSameIdentities(clean, failing);
  }
}

}  // namespace
}  // namespace trailsentry::testing
