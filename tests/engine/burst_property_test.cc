// Property: the final burst alerts depend only on the set of events, never on
// arrival order, and equal a from-scratch evaluation of spec §2's definition.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/engine/engine_harness.h"
#include "tests/testing/cloudtrail_builder.h"

namespace trailsentry::testing {
namespace {

struct GenEvent {
  std::string user, action, id;
  int64_t second;
  std::string json;
};

// One alert reduced to what the event set defines (ids and update counts depend
// on arrival order by design).
// Times are seconds after the builder's base time; ids are the alert's first 100
// by (time, eventID), the count is all of them.
using Canonical =
    std::tuple<std::string /*identity*/, int64_t /*window_start*/, int64_t /*window_end*/,
               int64_t /*event_count*/, std::set<std::string> /*actions*/,
               std::vector<std::string> /*event ids*/>;

constexpr int64_t kBaseSecond = 1773567000;  // TimeAt(0)

std::vector<std::string> FirstIds(std::set<std::pair<int64_t, std::string>> timed) {
  std::vector<std::string> ids;
  for (const auto& [t, id] : timed) {
    if (ids.size() == engine::kMaxAlertEventIds) break;
    ids.push_back(id);
  }
  return ids;
}

std::string Describe(const std::set<Canonical>& alerts) {
  std::string out;
  for (const auto& [identity, start, end, count, actions, ids] : alerts) {
    out += identity + " [" + std::to_string(start) + "," + std::to_string(end) +
           "] events=" + std::to_string(count) + " actions=" + std::to_string(actions.size()) +
           "\n";
  }
  return out;
}

std::vector<GenEvent> Generate(uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<std::string> actions = {
      "DescribeInstances", "ListUsers",       "ListRoles",
      "GetCallerIdentity", "ListBuckets",     "DescribeSecurityGroups",
      "ListKeys",          "DescribeVpcs",    "GetAccountAuthorizationDetails",
      "DescribeSnapshots", "ListFunctions",   "DescribeDBInstances",
      "ListPolicies",      "GetBucketPolicy", "DescribeSubnets"};
  std::vector<GenEvent> out;
  const int users = 2 + static_cast<int>(rng() % 3);
  for (int u = 0; u < users; ++u) {
    const std::string user = "user" + std::to_string(u);
    // Background calls, then a few tight bursts, all within 50 minutes.
    for (int64_t t = rng() % 60; t < 3000; t += 1 + rng() % 900) {
      out.push_back({user, actions[rng() % actions.size()], "", t, ""});
    }
    const int bursts = 1 + static_cast<int>(rng() % 4);
    for (int b = 0; b < bursts; ++b) {
      const int64_t start = rng() % 2990;
      const int n = 3 + static_cast<int>(rng() % 8);
      for (int i = 0; i < n; ++i) {
        out.push_back({user, actions[rng() % actions.size()], "",
                       start + static_cast<int64_t>(rng() % 9), ""});
      }
    }
  }
  for (GenEvent& e : out) {
    Record r = Record().User(e.user).AtSecond(e.second).Action(e.action).NewId();
    e.id = r.event_id();
    e.json = r.Json();
  }
  // Exact redeliveries of a few records.
  const size_t n = out.size();
  for (size_t i = 0; i < n / 20; ++i) out.push_back(out[rng() % n]);
  return out;
}

std::set<Canonical> FromEngine(const std::vector<GenEvent>& events, const engine::Config& config) {
  EngineHarness h(config);
  for (const GenEvent& e : events) h.Feed(e.json);
  std::set<Canonical> out;
  for (const auto& [id, a] : h.OpenAlerts()) {
    std::set<std::pair<int64_t, std::string>> timed;
    for (const auto& [t, event_id] : a.event_ids) timed.emplace(t / 1000 - kBaseSecond, event_id);
    out.emplace(a.identity, a.window_start / 1000 - kBaseSecond, a.window_end / 1000 - kBaseSecond,
                a.event_count, std::set<std::string>(a.actions.begin(), a.actions.end()),
                FirstIds(timed));
  }
  return out;
}

// spec §2 evaluated from scratch over the whole (deduplicated) event set.
std::set<Canonical> Reference(const std::vector<GenEvent>& all, const engine::Config& config) {
  const int64_t window = absl::ToInt64Seconds(config.burst.window);
  const int64_t suppression = absl::ToInt64Seconds(config.burst.suppression);
  const int threshold = config.burst.threshold;
  std::map<std::string, std::vector<GenEvent>> by_user;
  std::set<std::string> seen;
  for (const GenEvent& e : all) {
    if (seen.insert(e.id).second) by_user[e.user].push_back(e);
  }
  std::set<Canonical> out;
  for (auto& [user, events] : by_user) {
    std::stable_sort(events.begin(), events.end(),
                     [](const GenEvent& a, const GenEvent& b) { return a.second < b.second; });
    const std::string identity = "arn:aws:iam::111122223333:user/" + user;
    auto distinct_in = [&](int64_t lo_exclusive, int64_t hi) {
      std::set<std::string> names;
      for (const GenEvent& e : events) {
        if (e.second > lo_exclusive && e.second <= hi) names.insert(e.action);
      }
      return names;
    };
    if (config.burst.mode == engine::BurstMode::kTumbling) {
      std::map<int64_t, std::vector<const GenEvent*>> buckets;
      // Epoch-aligned buckets, in seconds after the builder's base time.
      for (const GenEvent& e : events) {
        buckets[(kBaseSecond + e.second) / window * window - kBaseSecond].push_back(&e);
      }
      for (const auto& [start, members] : buckets) {
        std::set<std::string> names;
        std::set<std::pair<int64_t, std::string>> timed;
        for (const GenEvent* e : members) {
          names.insert(e->action);
          timed.emplace(e->second, e->id);
        }
        if (static_cast<int>(names.size()) > threshold) {
          out.emplace(identity, start, start + window, static_cast<int64_t>(timed.size()), names,
                      FirstIds(timed));
        }
      }
      continue;
    }
    struct Episode {
      int64_t start, end, last;
      std::set<std::pair<int64_t, std::string>> ids;
      std::set<std::string> names;
    };
    std::vector<Episode> episodes;
    std::set<std::string> in_episode;
    bool open = false;
    for (const GenEvent& e : events) {
      if (open && e.second - episodes.back().last <= suppression) {
        episodes.back().ids.emplace(e.second, e.id);
        episodes.back().names.insert(e.action);
        episodes.back().last = e.second;
        in_episode.insert(e.id);
        continue;
      }
      open = false;
      if (static_cast<int>(distinct_in(e.second - window, e.second).size()) > threshold) {
        Episode ep{0, e.second, e.second, {}, {}};
        ep.start = e.second;
        for (const GenEvent& w : events) {
          if (w.second > e.second - window && w.second <= e.second)
            ep.start = std::min(ep.start, w.second);
        }
        for (const GenEvent& w : events) {
          if (w.second >= ep.start && w.second <= e.second && !in_episode.contains(w.id)) {
            ep.ids.emplace(w.second, w.id);
            ep.names.insert(w.action);
            in_episode.insert(w.id);
          }
        }
        episodes.push_back(ep);
        open = true;
      }
    }
    for (const Episode& ep : episodes) {
      out.emplace(identity, ep.start, ep.end, static_cast<int64_t>(ep.ids.size()), ep.names,
                  FirstIds(ep.ids));
    }
  }
  return out;
}

struct PropertyCase {
  const char* name;
  engine::BurstMode mode;
  int threshold;
  int window_seconds;
  int suppression_seconds;
};

class BurstProperty : public ::testing::TestWithParam<PropertyCase> {};

TEST_P(BurstProperty, ShuffledInputGivesTheSameAlertsAsTheDefinition) {
  const PropertyCase& param = GetParam();
  engine::Config config;
  config.burst.mode = param.mode;
  config.burst.threshold = param.threshold;
  config.burst.window = absl::Seconds(param.window_seconds);
  config.burst.suppression = absl::Seconds(param.suppression_seconds);
  int with_alerts = 0;
  for (uint32_t seed = 1; seed <= 100; ++seed) {
    std::vector<GenEvent> events = Generate(seed);
    const std::set<Canonical> expected = Reference(events, config);
    if (!expected.empty()) ++with_alerts;
    std::vector<GenEvent> sorted = events;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const GenEvent& a, const GenEvent& b) { return a.second < b.second; });
    std::set<Canonical> got = FromEngine(sorted, config);
    EXPECT_TRUE(got == expected) << "seed " << seed << " in time order\ngot:\n"
                                 << Describe(got) << "expected:\n"
                                 << Describe(expected);
    std::mt19937 rng(seed * 7919);
    for (int shuffle = 0; shuffle < 3; ++shuffle) {
      std::shuffle(events.begin(), events.end(), rng);
      got = FromEngine(events, config);
      EXPECT_TRUE(got == expected) << "seed " << seed << " shuffle " << shuffle << "\ngot:\n"
                                   << Describe(got) << "expected:\n"
                                   << Describe(expected);
    }
  }
  EXPECT_GT(with_alerts, 50);  // the generator does exercise the rule
}

// The same law over randomised configurations: thresholds, windows, and (in
// SLIDING mode) suppressions from the window to far beyond it.
TEST(BurstPropertyRandomConfigs, ShuffledInputGivesTheSameAlertsAsTheDefinition) {
  std::mt19937 rng(20261128);
  for (int round = 0; round < 24; ++round) {
    engine::Config config;
    config.burst.mode = rng() % 3 == 0 ? engine::BurstMode::kTumbling : engine::BurstMode::kSliding;
    config.burst.threshold = 1 + static_cast<int>(rng() % 7);
    config.burst.window = absl::Seconds(2 + static_cast<int>(rng() % 40));
    config.burst.suppression =
        config.burst.mode == engine::BurstMode::kTumbling
            ? absl::ZeroDuration()
            : config.burst.window + absl::Seconds(static_cast<int>(rng() % 900));
    for (uint32_t seed = 1; seed <= 15; ++seed) {
      std::vector<GenEvent> events = Generate(seed * 1000 + static_cast<uint32_t>(round));
      const std::set<Canonical> expected = Reference(events, config);
      std::shuffle(events.begin(), events.end(), rng);
      const std::set<Canonical> got = FromEngine(events, config);
      EXPECT_TRUE(got == expected) << "round " << round << " seed " << seed << " threshold "
                                   << config.burst.threshold << " window " << config.burst.window
                                   << " suppression " << config.burst.suppression << "\ngot:\n"
                                   << Describe(got) << "expected:\n"
                                   << Describe(expected);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Configs, BurstProperty,
    ::testing::Values(PropertyCase{"SlidingDefaults", engine::BurstMode::kSliding, 5, 10, 600},
                      PropertyCase{"SlidingWide", engine::BurstMode::kSliding, 3, 20, 60},
                      PropertyCase{"TumblingDefaults", engine::BurstMode::kTumbling, 5, 10, 0},
                      PropertyCase{"TumblingWide", engine::BurstMode::kTumbling, 3, 30, 0}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace trailsentry::testing
