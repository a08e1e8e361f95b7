// spec §1 filters: CLI user agents, discovery calls, IPs, networks, globs, config.
#include "server/engine/event_classifier.h"

#include <gtest/gtest.h>

#include "server/engine/config_loader.h"
#include "server/engine/ip_address.h"
#include "server/engine/network.h"
#include "trailsentry/shard_key.h"

namespace trailsentry::engine {
namespace {

TEST(CliUserAgent, MatchesVersionAtWordBoundary) {
  for (const char* ua : {"aws-cli/2.13.5 Python/3.11.4 Linux/5.15", "aws-cli/1.18.136 Python/3.8.5",
                         "exec-env/CloudShell aws-cli/2.1.0", "[aws-cli/2.0.1]", "aws-cli/10.0"}) {
    EXPECT_TRUE(IsAwsCliUserAgent(ua)) << ua;
  }
  for (const char* ua :
       {"", "Boto3/1.28.0", "console.amazonaws.com", "aws-cli/", "aws-cli/2", "aws-cli/2.",
        "aws-cli/x.1", "myaws-cli/2.1", "AWS-CLI/2.13.5", "aws-cli/.5", "aws-sdk-go/1.44"}) {
    EXPECT_FALSE(IsAwsCliUserAgent(ua)) << ua;
  }
}

TEST(Discovery, ProvidersPrefixesAndExclusions) {
  Config config;
  EventClassifier c(config);
  EXPECT_TRUE(c.IsDiscovery("ec2.amazonaws.com", "DescribeInstances"));
  EXPECT_TRUE(c.IsDiscovery("iam.amazonaws.com", "GenerateCredentialReport"));
  EXPECT_TRUE(c.IsDiscovery("organizations.amazonaws.com", "ListAccounts"));
  EXPECT_TRUE(c.IsDiscovery("sts.amazonaws.com", "GetCallerIdentity"));
  EXPECT_FALSE(c.IsDiscovery("ec2.amazonaws.com", "RunInstances"));
  EXPECT_FALSE(c.IsDiscovery("ec2.amazonaws.com", "DescribeCapacityReservations"));
  EXPECT_FALSE(c.IsDiscovery("secretsmanager.amazonaws.com", "ListSecrets"));
  EXPECT_FALSE(c.IsDiscovery("ec2", "DescribeInstances"));
  EXPECT_FALSE(c.IsDiscovery("ec2.amazonaws.com", "describeInstances"));  // case-sensitive
}

TEST(Glob, StarAndQuestionMark) {
  EXPECT_TRUE(GlobMatch("arn:aws:iam::*:role/ci-*", "arn:aws:iam::1234:role/ci-deploy"));
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("a?c", "abc"));
  EXPECT_FALSE(GlobMatch("a?c", "ac"));
  EXPECT_FALSE(GlobMatch("arn:*:role/ci-*", "arn:aws:iam::1:user/ci-x"));
  EXPECT_TRUE(GlobMatch("*a*b*", "xxaxxbxx"));
}

TEST(Account, FallsBackToArnThenRecipient) {
  EXPECT_EQ(ArnAccount("arn:aws:iam::123456789012:user/x"), "123456789012");
  EXPECT_EQ(ArnAccount("arn:aws:sts::123456789012:assumed-role/r/s"), "123456789012");
  EXPECT_EQ(ArnAccount("not-an-arn"), "");
  Config config;
  EventClassifier c(config);
  std::string buf;
  Event ev;
  ev.arn = "arn:aws:iam::123456789012:user/x";
  ev.recipient_account_id = "999";
  EXPECT_EQ(c.Classify(ev, buf).account, "123456789012");
  ev.arn = "";
  EXPECT_EQ(c.Classify(ev, buf).account, "999");
  ev.account_id = "555";
  EXPECT_EQ(c.Classify(ev, buf).account, "555");
}

TEST(IpAddress, ParsesV4V6AndNormalisesMapped) {
  EXPECT_TRUE(IpAddress::Parse("198.51.100.7")->is_v4());
  EXPECT_FALSE(IpAddress::Parse("2001:db8::7")->is_v4());
  auto mapped = IpAddress::Parse("::ffff:198.51.100.7");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->is_v4());
  EXPECT_EQ(mapped->ToString(), "198.51.100.7");
  for (const char* bad : {"", "AWS Internal", "ec2.amazonaws.com", "1.2.3", "1.2.3.4.5",
                          "256.1.1.1", "01.2.3.4x", "fe80::1%eth0", "::ffff:1.2.3"}) {
    EXPECT_FALSE(IpAddress::Parse(bad).has_value()) << bad;
  }
}

TEST(Network, MasksAndParsesCidrs) {
  EXPECT_EQ(Network::Of(*IpAddress::Parse("203.0.113.7"), 32, 64).ToString(), "203.0.113.7/32");
  EXPECT_EQ(Network::Of(*IpAddress::Parse("203.0.113.7"), 24, 64).ToString(), "203.0.113.0/24");
  EXPECT_EQ(Network::Of(*IpAddress::Parse("2001:db8:10:21:abcd::1"), 32, 64).ToString(),
            "2001:db8:10:21::/64");
  auto n = Network::ParseCidr("10.0.0.0/8");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->Contains(*IpAddress::Parse("10.200.3.4")));
  EXPECT_FALSE(n->Contains(*IpAddress::Parse("11.0.0.1")));
  EXPECT_FALSE(n->Contains(*IpAddress::Parse("::a00:1")));
  EXPECT_FALSE(Network::ParseCidr("10.0.0.1/8").ok());  // host bits set
  EXPECT_FALSE(Network::ParseCidr("10.0.0.0/33").ok());
  EXPECT_FALSE(Network::ParseCidr("example.com/8").ok());
  EXPECT_TRUE(Network::ParseCidr("2001:db8::/32").ok());
}

TEST(ConfigLoader, DefaultsOverridesAndErrorsNamingTheField) {
  auto c = ParseConfig("");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->burst.window, absl::Seconds(10));
  EXPECT_EQ(c->burst.threshold, 5);
  EXPECT_EQ(c->discovery.providers.size(), 13u);
  c = ParseConfig(R"(
    burst { window: "30s" threshold: 8 mode: TUMBLING }
    max_lateness: "2h"
    discovery { providers { values: "*" } excluded_actions { } }
    exclusions { identity_allowlist { values: "arn:aws:iam::*:role/scanner" } }
  )");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->burst.window, absl::Seconds(30));
  EXPECT_EQ(c->burst.threshold, 8);
  EXPECT_EQ(c->burst.mode, BurstMode::kTumbling);
  EXPECT_EQ(c->burst.suppression, absl::ZeroDuration());
  EXPECT_EQ(c->max_lateness, absl::Hours(2));
  EXPECT_EQ(c->discovery.providers, std::vector<std::string>{"*"});
  EXPECT_TRUE(c->discovery.excluded_actions.empty());
  EXPECT_EQ(c->discovery.prefixes.size(), 4u);
  EXPECT_EQ(c->exclusions.user_names, std::vector<std::string>{"AWSServiceRoleForConfig"});

  struct Bad {
    const char* text;
    const char* field;
  };
  for (const Bad& b : std::vector<Bad>{
           {"burst { window: \"ten\" }", "burst.window"},
           {"burst { threshold: 0 }", "burst.threshold"},
           {"max_lateness: \"1s\"", "max_lateness"},
           {"discovery { prefixes { } }", "discovery.prefixes"},
           {"unusual_ip { ipv4_prefix: 40 }", "unusual_ip.ipv4_prefix"},
           {"unusual_ip { network_allowlist { values: \"10.0.0.1/8\" } }",
            "unusual_ip.network_allowlist"},
           {"burst { windw: \"1s\" }", "line 1"},
           // Values that cannot work are refused with the field named.
           {"burst { suppression: \"5s\" }", "burst.suppression"},
           {"burst { mode: SLIDING window: \"30s\" suppression: \"10s\" }", "burst.suppression"},
           {"unusual_ip { settle: \"0s\" }", "unusual_ip.settle"},
           {"unusual_ip { history: \"0s\" }", "unusual_ip.history"},
           {"unusual_ip { suppression: \"-1s\" }", "unusual_ip.suppression"},
           {"unusual_ip { suppression: \"1000h\" }", "unusual_ip.suppression"},
           {"unusual_ip { min_distinct_calls: 0 }", "unusual_ip.min_distinct_calls"},
           {"server { cached_identities: -1 }", "server.cached_identities"},
           // Webhooks: each names what it lacks.
           {"server { alerts { webhooks { url: \"http://h/\" secret_file: \"s\" } } }",
            "server.alerts.webhooks[0].name"},
           {"server { alerts { webhooks { name: \"a\" url: \"ftp://h\" secret_file: \"s\" } } }",
            "server.alerts.webhooks[0].url"},
           {"server { alerts { webhooks { name: \"a\" url: \"https://h\" } } }",
            "server.alerts.webhooks[0].secret_file"},
           {"server { alerts { webhooks { name: \"a\" url: \"https://h\" secret_file: \"s\" } "
            "webhooks { name: \"a\" url: \"https://h\" secret_file: \"s\" } } }",
            "server.alerts.webhooks[1].name"},
           {"server { alerts { webhooks { name: \"a\" url: \"https://h\" secret_file: \"s\" "
            "timeout: \"5\" } } }",
            "server.alerts.webhooks[0].timeout"},
           {"server { alerts { change_retention: \"1s\" } }", "server.alerts.change_retention"},
           {"server { shard { self: \"a:1\" } }", "server.shard.replicas"},
           {"server { shard { self: \"c:1\" replicas: \"a:1\" replicas: \"b:1\" } }",
            "server.shard.self"},
           {"server { shard { self: \"a:1\" replicas: \"a:1\" replicas: \"a:1\" } }",
            "server.shard.replicas[1]"},
       }) {
    auto bad = ParseConfig(b.text);
    ASSERT_FALSE(bad.ok()) << b.text;
    EXPECT_NE(bad.status().message().find(b.field), std::string::npos) << bad.status();
  }
  // Defined edges stay valid: suppression 0 for the unusual-IP rule (an alert
  // still holds every call up to the one that fired it), and in TUMBLING mode.
  EXPECT_TRUE(
      ParseConfig("server { shard { self: \"b:1\" replicas: \"a:1\" replicas: \"b:1\" } }").ok());
  EXPECT_TRUE(ParseConfig("unusual_ip { suppression: \"0s\" }").ok());
  EXPECT_TRUE(ParseConfig("burst { mode: TUMBLING suppression: \"0s\" }").ok());
  EXPECT_EQ(ParseConfig("server { cached_identities: 0 }").value().server.cached_identities, 0);
  auto hooks = ParseConfig(
      "server { alerts { link_template: \"https://soar/{alert_id}\" change_retention: \"24h\" "
      "webhooks { name: \"soar\" url: \"https://soar.example/hook\" secret_file: \"/s\" "
      "timeout: \"2s\" tenant: \"acme\" } } }");
  ASSERT_TRUE(hooks.ok()) << hooks.status();
  ASSERT_EQ(hooks->server.alerts.webhooks.size(), 1u);
  EXPECT_EQ(hooks->server.alerts.webhooks[0].timeout, absl::Seconds(2));
  EXPECT_EQ(hooks->server.alerts.webhooks[0].max_backoff, absl::Seconds(60));
  EXPECT_EQ(hooks->server.alerts.webhooks[0].tenant, "acme");
  EXPECT_EQ(hooks->server.alerts.change_retention, absl::Hours(24));
  EXPECT_EQ(hooks->server.alerts.link_template, "https://soar/{alert_id}");
}

}  // namespace
}  // namespace trailsentry::engine
