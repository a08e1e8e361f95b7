// The `aws-discovery-unusual-source-ip` rule, clause by clause of spec §3, with
// baselines in a real RocksDB in a temp dir.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tests/engine/engine_harness.h"
#include "tests/testing/cloudtrail_builder.h"
#include "tests/testing/temp_dir.h"

namespace trailsentry::testing {
namespace {

using engine::Rule;

constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 24 * kHour;
constexpr char kBoto[] = "Boto3/1.34.45 md/Botocore#1.34.45 os/linux#5.10 lang/python#3.11.8";

// An ordinary successful call (PutObject: not a discovery call) by `user` from `ip`.
std::string Ordinary(const std::string& user, const std::string& ip, int64_t t) {
  return Record()
      .User(user)
      .Ip(ip)
      .AtSecond(t)
      .Agent(kBoto)
      .Action("PutObject")
      .Source("s3.amazonaws.com")
      .NewId()
      .Json();
}

class UnusualIpTest : public ::testing::Test {
 protected:
  EngineHarness& H(engine::Config config = {}) {
    if (!harness_) harness_ = std::make_unique<EngineHarness>(config, dir_);
    return *harness_;
  }

  // Successful calls from `ip` that are not discovery calls (PutObject), one every
  // `step` seconds in [from, to): they teach the baseline and judge nothing.
  void Learn(const std::string& user, const std::string& ip, int64_t from, int64_t to,
             int64_t step = kHour) {
    for (int64_t t = from; t < to; t += step) {
      H().Feed(Ordinary(user, ip, t));
    }
  }

  // A discovery call (not through the CLI, so the burst rule stays out of it).
  engine::Verdict Call(const std::string& user, const std::string& ip, int64_t t,
                       const std::string& action, const std::string& error = "") {
    Record r = Record()
                   .User(user)
                   .Ip(ip)
                   .AtSecond(t)
                   .Action(action)
                   .Source("iam.amazonaws.com")
                   .Agent(kBoto)
                   .NewId();
    if (!error.empty()) r.Error(error);
    return H().Feed(r.Json());
  }

  std::vector<engine::Alert> Unusual() { return H().OpenAlertsOf(Rule::kUnusualSourceIp); }

  TempDir dir_;
  std::unique_ptr<EngineHarness> harness_;
};

TEST_F(UnusualIpTest, LearningIdentityRaisesNothing) {
  engine::Verdict v = Call("alice", "203.0.113.7", 0, "ListUsers");
  EXPECT_TRUE(v.flags & engine::kLearning);
  Call("alice", "198.51.100.9", 3600, "ListUsers");
  Call("alice", "198.51.100.9", 3601, "ListRoles");
  EXPECT_TRUE(Unusual().empty());
}

TEST_F(UnusualIpTest, MatureIdentityFromUnknownNetworkFires) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  EXPECT_FALSE(Call("alice", "203.0.113.7", 2 * kDay, "ListUsers").flags & engine::kUnusualNetwork);
  engine::Verdict first = Call("alice", "185.220.101.4", 2 * kDay + 60, "ListUsers");
  EXPECT_TRUE(first.flags & engine::kUnusualNetwork);
  EXPECT_FALSE(first.flags & engine::kLearning);
  EXPECT_TRUE(Unusual().empty());  // one distinct call is not enough
  engine::Verdict second = Call("alice", "185.220.101.4", 2 * kDay + 90, "ListRoles");
  std::vector<engine::Alert> alerts = Unusual();
  ASSERT_EQ(alerts.size(), 1u);
  const engine::Alert& a = alerts[0];
  EXPECT_EQ(second.unusual_ip_alert_id, a.alert_id);
  EXPECT_EQ(a.network, "185.220.101.4/32");
  EXPECT_TRUE(a.new_to_account);
  EXPECT_EQ(a.window_start, first.flags ? a.first_event_time : 0);
  EXPECT_EQ(engine::FormatRfc3339(a.window_start), TimeAt(2 * kDay + 60));
  EXPECT_EQ(engine::FormatRfc3339(a.window_end), TimeAt(2 * kDay + 90));
  EXPECT_EQ(a.actions.size(), 2u);
  EXPECT_EQ(a.known_network_count, 1);
  EXPECT_EQ(a.recent_known_networks, std::vector<std::string>{"203.0.113.7/32"});
  EXPECT_EQ(engine::FormatRfc3339(a.baseline_since), TimeAt(0));
  EXPECT_EQ(a.user_name, "alice");
}

// One address, one spelling: an IPv4-mapped IPv6 source is the IPv4 address, in
// the network and in the alert's source IPs alike.
TEST_F(UnusualIpTest, Ipv4MappedSourcesAreShownAsIpv4) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  Call("alice", "::ffff:185.220.101.4", 2 * kDay + 60, "ListUsers");
  Call("alice", "185.220.101.4", 2 * kDay + 90, "ListRoles");
  Call("alice", "::FFFF:b9dc:6504", 2 * kDay + 95, "ListKeys");
  std::vector<engine::Alert> alerts = Unusual();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].network, "185.220.101.4/32");
  EXPECT_EQ(alerts[0].event_count, 3);
  EXPECT_EQ(std::vector<std::string>(alerts[0].source_ips.begin(), alerts[0].source_ips.end()),
            std::vector<std::string>{"185.220.101.4"});
}

// Suppression 0 is defined: each alert still holds every call up to the one that
// fired it, and the next call starts a new count.
TEST_F(UnusualIpTest, ZeroSuppressionStillHoldsTheFiringCalls) {
  engine::Config config;
  config.unusual_ip.suppression = absl::ZeroDuration();
  harness_ = std::make_unique<EngineHarness>(config, dir_);
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  for (int i = 0; i < 4; ++i) {
    Call("alice", "185.220.101.4", 2 * kDay + 60 + i, i % 2 ? "ListRoles" : "ListUsers");
  }
  std::vector<engine::Alert> alerts = Unusual();
  ASSERT_EQ(alerts.size(), 2u);
  for (const engine::Alert& a : alerts) {
    EXPECT_EQ(a.event_count, 2);
    EXPECT_EQ(a.actions.size(), 2u);
  }
}

TEST_F(UnusualIpTest, CountRestartsWhenSettlePassesWithoutFiring) {
  // Denied calls: they qualify but never teach the baseline, so the network
  // stays unknown however long they go on.
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  Call("alice", "185.220.101.4", 2 * kDay, "ListUsers", "AccessDenied");
  Call("alice", "185.220.101.4", 2 * kDay + 2 * kHour, "ListRoles", "AccessDenied");
  EXPECT_TRUE(Unusual().empty());  // more than settle apart
  Call("alice", "185.220.101.4", 2 * kDay + 2 * kHour + 600, "ListPolicies", "AccessDenied");
  std::vector<engine::Alert> alerts = Unusual();
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(engine::FormatRfc3339(alerts[0].window_start), TimeAt(2 * kDay + 2 * kHour));
}

TEST_F(UnusualIpTest, AttackersOwnCallsMakeTheNetworkKnownAfterSettle) {
  // Successful calls are observations: an hour after the first, the network is
  // known (spec §3), so a slow second call no longer qualifies.
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  Call("alice", "185.220.101.4", 2 * kDay, "ListUsers");
  EXPECT_FALSE(Call("alice", "185.220.101.4", 2 * kDay + 2 * kHour, "ListRoles").flags &
               engine::kUnusualNetwork);
  EXPECT_TRUE(Unusual().empty());
}

TEST_F(UnusualIpTest, NetworkIsKnownOnlyAfterSettle) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  Learn("alice", "192.0.2.50", 2 * kDay, 2 * kDay + 1, 1);  // first seen now
  Call("alice", "192.0.2.50", 2 * kDay + 1800, "ListUsers");
  Call("alice", "192.0.2.50", 2 * kDay + 1801, "ListRoles");
  EXPECT_EQ(Unusual().size(), 1u);  // 30 min after first seen: not yet known
  EngineHarness& h = H();
  const size_t before = h.AllAlerts().size();
  Call("alice", "192.0.2.50", 2 * kDay + 2 * kHour, "ListGroups");
  Call("alice", "192.0.2.50", 2 * kDay + 2 * kHour + 1, "ListPolicies");
  // Still within the alert's suppression, but from a network known by now: no
  // qualifying call, so nothing changes.
  EXPECT_EQ(h.AllAlerts().size(), before);
  EXPECT_EQ(Unusual()[0].event_count, 2);
}

TEST_F(UnusualIpTest, NetworkUnseenForLongerThanHistoryIsUnknownAgain) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  Learn("alice", "198.51.100.20", 2 * kDay, 3 * kDay);
  // Day 14: 203.0.113.7 was last seen 12 days ago (history is 10).
  Call("alice", "203.0.113.7", 14 * kDay, "ListUsers");
  Call("alice", "203.0.113.7", 14 * kDay + 5, "ListRoles");
  ASSERT_EQ(Unusual().size(), 1u);
  EXPECT_EQ(Unusual()[0].network, "203.0.113.7/32");
}

TEST_F(UnusualIpTest, Ipv6NeighbourInTheSameSlash64IsKnown) {
  Learn("alice", "2001:db8:1:2::10", 0, 2 * kDay);
  Call("alice", "2001:db8:1:2:ffff::99", 2 * kDay, "ListUsers");
  Call("alice", "2001:db8:1:2:ffff::99", 2 * kDay + 1, "ListRoles");
  EXPECT_TRUE(Unusual().empty());
  Call("alice", "2001:db8:1:3::1", 2 * kDay + 2, "ListUsers");
  Call("alice", "2001:db8:1:3::1", 2 * kDay + 3, "ListRoles");
  ASSERT_EQ(Unusual().size(), 1u);
  EXPECT_EQ(Unusual()[0].network, "2001:db8:1:3::/64");
}

TEST_F(UnusualIpTest, FailedCallsAreNeverLearnedButDoCount) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  for (int64_t t = 2 * kDay; t < 4 * kDay; t += kHour) {
    Call("alice", "192.0.2.66", t, "ListUsers", "AccessDenied");
  }
  EXPECT_TRUE(Unusual().empty());  // one distinct action, however often
  Call("alice", "192.0.2.66", 4 * kDay, "ListUsers", "AccessDenied");
  Call("alice", "192.0.2.66", 4 * kDay + 1, "ListRoles", "AccessDenied");
  std::vector<engine::Alert> alerts = Unusual();
  ASSERT_EQ(alerts.size(), 1u);  // two days of denied calls taught nothing
  EXPECT_EQ(alerts[0].network, "192.0.2.66/32");
}

TEST_F(UnusualIpTest, NetworkKnownToTheAccountIsLowSeverityOrNotQualifying) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  Learn("bob", "198.51.100.20", 0, 2 * kDay);  // same account
  Call("alice", "198.51.100.20", 2 * kDay, "ListUsers");
  Call("alice", "198.51.100.20", 2 * kDay + 1, "ListRoles");
  ASSERT_EQ(Unusual().size(), 1u);
  EXPECT_FALSE(Unusual()[0].new_to_account);

  engine::Config strict;
  strict.unusual_ip.require_new_to_account = true;
  TempDir other;
  EngineHarness h(strict, other);
  for (int64_t t = 0; t < 2 * kDay; t += kHour) {
    h.Feed(Ordinary("alice", "203.0.113.7", t));
    h.Feed(Ordinary("bob", "198.51.100.20", t));
  }
  h.Feed(Record()
             .User("alice")
             .Ip("198.51.100.20")
             .AtSecond(2 * kDay)
             .Agent(kBoto)
             .Action("ListUsers")
             .Source("iam.amazonaws.com")
             .NewId()
             .Json());
  h.Feed(Record()
             .User("alice")
             .Ip("198.51.100.20")
             .AtSecond(2 * kDay + 1)
             .Agent(kBoto)
             .Action("ListRoles")
             .Source("iam.amazonaws.com")
             .NewId()
             .Json());
  EXPECT_TRUE(h.OpenAlertsOf(Rule::kUnusualSourceIp).empty());
}

TEST_F(UnusualIpTest, AllowlistedNetworksAreNeverUnusual) {
  engine::Config config;
  config.unusual_ip.network_allowlist = {"198.51.100.0/24"};
  H(config);
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  Call("alice", "198.51.100.77", 2 * kDay, "ListUsers");
  EXPECT_FALSE(Call("alice", "198.51.100.77", 2 * kDay + 1, "ListRoles").flags &
               engine::kUnusualNetwork);
  EXPECT_TRUE(Unusual().empty());
}

TEST_F(UnusualIpTest, OneAlertPerNetworkPerSuppression) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  Call("alice", "185.220.101.4", 2 * kDay, "ListUsers", "AccessDenied");
  Call("alice", "185.220.101.4", 2 * kDay + 1, "ListRoles", "AccessDenied");
  ASSERT_EQ(Unusual().size(), 1u);
  const std::string first_id = Unusual()[0].alert_id;
  // Within 24 h of the alert's window start: a new count updates it.
  Call("alice", "185.220.101.4", 2 * kDay + 5 * kHour, "ListPolicies", "AccessDenied");
  Call("alice", "185.220.101.4", 2 * kDay + 5 * kHour + 1, "ListGroups", "AccessDenied");
  ASSERT_EQ(Unusual().size(), 1u);
  EXPECT_EQ(Unusual()[0].alert_id, first_id);
  EXPECT_EQ(Unusual()[0].event_count, 4);
  EXPECT_EQ(Unusual()[0].update_count, 2);
  // After 24 h: a new alert.
  Call("alice", "185.220.101.4", 3 * kDay + 2 * kHour, "ListUsers", "AccessDenied");
  Call("alice", "185.220.101.4", 3 * kDay + 2 * kHour + 1, "ListRoles", "AccessDenied");
  std::vector<engine::Alert> alerts = Unusual();
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_NE(alerts[0].alert_id, alerts[1].alert_id);
}

TEST_F(UnusualIpTest, ExcludedActorsTeachNothing) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  for (int64_t t = 0; t < 2 * kDay; t += kHour) {
    H().Feed(
        Record().User("alice").Ip("192.0.2.80").AtSecond(t).Console("\"true\"").NewId().Json());
  }
  Call("alice", "192.0.2.80", 2 * kDay, "ListUsers");
  Call("alice", "192.0.2.80", 2 * kDay + 1, "ListRoles");
  EXPECT_EQ(Unusual().size(), 1u);
}

TEST_F(UnusualIpTest, BaselinesAndAlertsSurviveARestart) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  Call("alice", "185.220.101.4", 2 * kDay, "ListUsers");
  H().Restart();
  // The second call after the restart completes the count begun before it.
  Call("alice", "185.220.101.4", 2 * kDay + 1, "ListRoles");
  EXPECT_FALSE(Call("alice", "203.0.113.7", 2 * kDay + 2, "ListGroups").flags &
               engine::kUnusualNetwork);
  auto profile = H().engine().GetIdentity("default", "arn:aws:iam::111122223333:user/alice");
  ASSERT_TRUE(profile.ok());
  EXPECT_TRUE(profile->mature);
  EXPECT_EQ(profile->profile.first_seen / 1000, 1773567000);
  ASSERT_GE(profile->networks.size(), 2u);
}

TEST_F(UnusualIpTest, GetIdentityShowsNetworksAndMaturity) {
  Learn("alice", "203.0.113.7", 0, kDay);
  Learn("alice", "2001:db8:1:2::10", kDay, kDay + 10);
  Learn("alice", "203.0.113.7", kDay + 20, 2 * kDay);
  auto view = H().engine().GetIdentity("default", "arn:aws:iam::111122223333:user/alice");
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->mature);
  ASSERT_EQ(view->networks.size(), 2u);
  EXPECT_EQ(view->networks[0].network, "203.0.113.7/32");  // most recently seen first
  EXPECT_EQ(view->networks[0].entry.count, 48);
  EXPECT_TRUE(view->networks[0].known);
  EXPECT_EQ(view->networks[1].network, "2001:db8:1:2::/64");
}

TEST_F(UnusualIpTest, TrustedNetworksAreKnown) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  auto vpn = engine::Network::ParseCidr("192.0.2.0/24").value();
  storage::Transaction tx(H().engine(), H().db());
  ASSERT_TRUE(H().engine()
                  .TrustNetwork("default", engine::TrustScope::kIdentity,
                                "arn:aws:iam::111122223333:user/alice", {vpn}, tx.writer())
                  .ok());
  ASSERT_TRUE(tx.Commit().ok());
  H().Restart();  // trusted networks are persisted
  Call("alice", "192.0.2.44", 2 * kDay, "ListUsers");
  Call("alice", "192.0.2.44", 2 * kDay + 1, "ListRoles");
  EXPECT_TRUE(Unusual().empty());
  // Trust for a whole account covers its other identities.
  Learn("bob", "203.0.113.8", 0, 2 * kDay);
  auto office = engine::Network::ParseCidr("198.51.100.0/24").value();
  storage::Transaction tx2(H().engine(), H().db());
  ASSERT_TRUE(
      H().engine()
          .TrustNetwork("default", engine::TrustScope::kAccount, kAccount, {office}, tx2.writer())
          .ok());
  ASSERT_TRUE(tx2.Commit().ok());
  Call("bob", "198.51.100.3", 2 * kDay, "ListUsers");
  Call("bob", "198.51.100.3", 2 * kDay + 1, "ListRoles");
  EXPECT_TRUE(Unusual().empty());
}

// A network marked hostile (an alert resolved TRUE_POSITIVE) is never learned,
// and each discovery call from it is unusual and alerts, from the first one,
// even for an identity still learning; persisted; unmarked, it is learned again.
TEST_F(UnusualIpTest, HostileNetworkIsNeverLearnedAndEachDiscoveryCallAlerts) {
  const std::string alice = "arn:aws:iam::111122223333:user/alice";
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  auto attacker = engine::Network::ParseCidr("185.220.101.0/24").value();
  {
    storage::Transaction tx(H().engine(), H().db());
    ASSERT_TRUE(
        H().engine()
            .TrustNetwork("default", engine::TrustScope::kHostile, "", {attacker}, tx.writer())
            .ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  H().Restart();  // persisted
  // A day of the attacker's ordinary calls teaches nothing...
  Learn("alice", "185.220.101.4", 2 * kDay, 3 * kDay);
  auto view = H().engine().GetIdentity("default", alice);
  ASSERT_TRUE(view.ok());
  for (const engine::KnownNetwork& n : view->networks) EXPECT_NE(n.network, "185.220.101.4/32");
  EXPECT_EQ(view->profile.count, 48 + 24);  // the identity's activity still counts
  // ...and one discovery call from it alerts.
  engine::Verdict v = Call("alice", "185.220.101.4", 3 * kDay, "ListUsers");
  EXPECT_TRUE(v.flags & engine::kUnusualNetwork);
  ASSERT_EQ(Unusual().size(), 1u);
  EXPECT_EQ(Unusual()[0].network, "185.220.101.4/32");
  EXPECT_EQ(Unusual()[0].event_count, 1);
  // So does an identity still learning.
  v = Call("carol", "185.220.101.9", 3 * kDay, "ListRoles");
  EXPECT_TRUE(v.flags & engine::kLearning);
  EXPECT_TRUE(v.flags & engine::kUnusualNetwork);
  EXPECT_EQ(Unusual().size(), 2u);
  // Unmarked, the network is learned like any other.
  {
    storage::Transaction tx(H().engine(), H().db());
    ASSERT_TRUE(
        H().engine()
            .UntrustNetwork("default", engine::TrustScope::kHostile, "", attacker, tx.writer())
            .ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(H().engine()
                .UntrustNetwork("default", engine::TrustScope::kHostile, "", attacker, nullptr)
                .code(),
            absl::StatusCode::kNotFound);
  Learn("alice", "185.220.101.4", 4 * kDay, 4 * kDay + 3 * kHour);
  view = H().engine().GetIdentity("default", alice);
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(
      std::any_of(view->networks.begin(), view->networks.end(), [](const engine::KnownNetwork& n) {
        return n.network == "185.220.101.4/32" && n.entry.count == 3;
      }));
  // Another tenant never saw the mark.
  EXPECT_TRUE(H().engine().TrustedNetworks("other", engine::TrustScope::kHostile, "")->empty());
}

// A trust with an expiry covers calls whose event time is before it, and after a
// restart too; removed, the network is unusual again.
TEST_F(UnusualIpTest, TrustExpiresByEventTimeAndCanBeRemoved) {
  Learn("alice", "203.0.113.7", 0, 2 * kDay);
  auto vpn = engine::Network::ParseCidr("192.0.2.0/24").value();
  const std::string alice = "arn:aws:iam::111122223333:user/alice";
  {
    storage::Transaction tx(H().engine(), H().db());
    ASSERT_TRUE(H().engine()
                    .TrustNetwork("default", engine::TrustScope::kIdentity, alice,
                                  {vpn, *engine::ParseRfc3339(TimeAt(3 * kDay))}, tx.writer())
                    .ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  H().Restart();
  Call("alice", "192.0.2.44", 2 * kDay, "ListUsers");
  Call("alice", "192.0.2.44", 2 * kDay + 1, "ListRoles");
  EXPECT_TRUE(Unusual().empty()) << "trusted before the expiry";
  Call("alice", "192.0.2.45", 3 * kDay + 10, "ListUsers");
  Call("alice", "192.0.2.45", 3 * kDay + 11, "ListRoles");
  EXPECT_EQ(Unusual().size(), 1u) << "not trusted after it";
  {
    storage::Transaction tx(H().engine(), H().db());
    ASSERT_TRUE(
        H().engine()
            .UntrustNetwork("default", engine::TrustScope::kIdentity, alice, vpn, tx.writer())
            .ok());
    ASSERT_TRUE(tx.Commit().ok());
  }
  EXPECT_EQ(H().engine()
                .UntrustNetwork("default", engine::TrustScope::kIdentity, alice, vpn, nullptr)
                .code(),
            absl::StatusCode::kNotFound);
  H().Restart();
  EXPECT_TRUE(
      H().engine().TrustedNetworks("default", engine::TrustScope::kIdentity, alice)->empty());
}

TEST_F(UnusualIpTest, FeedbackBeforeTheFirstEventAfterARestartKeepsTheBurstLog) {
  // Half a CLI burst, a restart, triage feedback for the identity, then the other
  // half: the feedback must not skip reloading the burst rule's window log.
  const char* actions[] = {"DescribeInstances", "ListUsers",   "ListRoles",
                           "GetCallerIdentity", "ListBuckets", "DescribeVpcs"};
  for (int i = 0; i < 3; ++i) H().Feed(Record().AtSecond(i).Action(actions[i]).NewId().Json());
  H().Restart();
  auto vpn = engine::Network::ParseCidr("192.0.2.0/24").value();
  storage::Transaction tx(H().engine(), H().db());
  ASSERT_TRUE(H().engine()
                  .TrustNetwork("default", engine::TrustScope::kIdentity,
                                "arn:aws:iam::111122223333:user/alice", {vpn}, tx.writer())
                  .ok());
  ASSERT_TRUE(tx.Commit().ok());
  for (int i = 3; i < 6; ++i) H().Feed(Record().AtSecond(i).Action(actions[i]).NewId().Json());
  EXPECT_EQ(H().OpenAlertsOf(Rule::kBurst).size(), 1u);
}

TEST_F(UnusualIpTest, ExpiryByCompactionNeverChangesResults) {
  // Two engines see the same events; one has its store compacted in between.
  TempDir other;
  EngineHarness& compacted = H();
  EngineHarness plain(engine::Config{}, other);
  auto both = [&](const std::string& json) {
    compacted.Feed(json);
    plain.Feed(json);
  };
  for (int64_t t = 0; t < 2 * kDay; t += kHour) {
    both(Ordinary("alice", "203.0.113.7", t));
  }
  // Another identity moves the event-time watermark 20 days on.
  for (int64_t t = 0; t < 20 * kDay; t += 6 * kHour) {
    both(Ordinary("carol", "198.51.100.1", t));
  }
  ASSERT_TRUE(compacted.db()->CompactAll().ok());
  // Alice's network, last seen 18 days before the watermark, is gone from disk.
  const std::string alice = "arn:aws:iam::111122223333:user/alice";
  EXPECT_TRUE(compacted.db()->LoadIdentity("default", alice, {}).value().networks.empty());
  EXPECT_EQ(plain.db()->LoadIdentity("default", alice, {}).value().networks.size(), 1u);
  compacted.Restart();
  plain.Restart();
  for (const char* action : {"ListUsers", "ListRoles"}) {
    both(Record()
             .User("alice")
             .Ip("203.0.113.7")
             .AtSecond(20 * kDay)
             .Agent(kBoto)
             .Action(action)
             .Source("iam.amazonaws.com")
             .NewId()
             .Json());
  }
  ASSERT_EQ(compacted.OpenAlertsOf(Rule::kUnusualSourceIp).size(), 1u);
  ASSERT_EQ(plain.OpenAlertsOf(Rule::kUnusualSourceIp).size(), 1u);
  EXPECT_EQ(compacted.OpenAlertsOf(Rule::kUnusualSourceIp)[0].alert_id,
            plain.OpenAlertsOf(Rule::kUnusualSourceIp)[0].alert_id);
}

TEST_F(UnusualIpTest, OrderOfCallsWithinTheHorizonDoesNotMatter) {
  // Learning first (in order), then probe calls from three networks, shuffled.
  std::vector<std::string> probes;
  const std::vector<std::string> ips = {"185.220.101.4", "192.0.2.9", "203.0.113.7"};
  const std::vector<std::string> actions = {"ListUsers", "ListRoles", "ListPolicies", "GetUser"};
  std::mt19937 gen(5);
  for (int i = 0; i < 40; ++i) {
    probes.push_back(Record()
                         .User("alice")
                         .Ip(ips[gen() % ips.size()])
                         .AtSecond(2 * kDay + gen() % 3000)
                         .Action(actions[gen() % actions.size()])
                         .Source("iam.amazonaws.com")
                         .Agent(kBoto)
                         .NewId()
                         .Json());
  }
  using Summary = std::set<std::tuple<std::string, int64_t, int64_t, int64_t, size_t, bool>>;
  auto run = [&](const std::vector<std::string>& order) {
    TempDir d;
    EngineHarness h(engine::Config{}, d);
    for (int64_t t = 0; t < 2 * kDay; t += kHour) {
      h.Feed(Ordinary("alice", "203.0.113.7", t));
    }
    for (const std::string& p : order) h.Feed(p);
    Summary s;
    for (const engine::Alert& a : h.OpenAlertsOf(Rule::kUnusualSourceIp)) {
      s.emplace(a.network, a.window_start, a.window_end, a.event_count, a.actions.size(),
                a.new_to_account);
    }
    return s;
  };
  const Summary expected = run(probes);
  EXPECT_EQ(expected.size(), 2u);  // the two unknown networks
  for (int round = 0; round < 5; ++round) {
    std::shuffle(probes.begin(), probes.end(), gen);
    EXPECT_EQ(run(probes), expected) << "round " << round;
  }
}

}  // namespace
}  // namespace trailsentry::testing
