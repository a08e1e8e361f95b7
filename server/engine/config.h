// Config: every tunable of spec §5, with the spec defaults.
//
// Built from a text-format trailsentry.v1.Config by LoadConfig (config_loader.h);
// tests construct it directly:
//
//   Config c;                      // spec defaults
//   c.burst.mode = BurstMode::kTumbling;
#ifndef TRAILSENTRY_SERVER_ENGINE_CONFIG_H_
#define TRAILSENTRY_SERVER_ENGINE_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace trailsentry::engine {

enum class BurstMode { kSliding, kTumbling };

struct BurstConfig {
  absl::Duration window = absl::Seconds(10);
  int threshold = 5;
  BurstMode mode = BurstMode::kSliding;
  absl::Duration suppression = absl::Minutes(10);
  bool enabled = true;
};

struct DiscoveryConfig {
  std::vector<std::string> providers = {"iam",          "ec2",        "s3",
                                        "rds",          "lambda",     "dynamodb",
                                        "kms",          "cloudfront", "elasticloadbalancing",
                                        "cloudtrail",   "sts",        "ses",
                                        "organizations"};
  std::vector<std::string> prefixes = {"Describe", "Get", "List", "Generate"};
  std::vector<std::string> excluded_actions = {"DescribeCapacityReservations"};
};

struct ExclusionsConfig {
  std::vector<std::string> user_names = {"AWSServiceRoleForConfig"};
  std::vector<std::string> identity_allowlist;    // ARN globs
  std::vector<std::string> user_agent_allowlist;  // substrings
};

struct UnusualIpConfig {
  int ipv4_prefix = 32;
  int ipv6_prefix = 64;
  absl::Duration settle = absl::Hours(1);
  absl::Duration history = absl::Hours(24 * 10);
  absl::Duration learning = absl::Hours(24);
  int min_distinct_calls = 2;
  absl::Duration suppression = absl::Hours(24);
  bool require_new_to_account = false;
  std::vector<std::string> network_allowlist;
  bool enabled = true;  // false: the rule is off and no baselines are kept
  // AddKnownNetwork refuses a prefix broader than these unless forced.
  int min_trusted_prefix_v4 = 16;
  int min_trusted_prefix_v6 = 32;
};

struct WebhookConfig {
  std::string name;
  std::string url;
  std::string secret_file;
  absl::Duration timeout = absl::Seconds(5);
  std::string ca_file;
  absl::Duration max_backoff = absl::Seconds(60);
  std::string tenant;  // empty: every tenant
  bool ocsf = false;   // the body is an OCSF Detection Finding, not an AlertChange
};

struct AlertsConfig {
  std::vector<WebhookConfig> webhooks;
  absl::Duration change_retention = absl::Hours(24 * 7);
  std::string link_template;
};

// Account-sharded replicas (config.proto ShardConfig): empty replicas means a
// single node.
struct ShardConfig {
  std::string self;
  std::vector<std::string> replicas;
};

struct ServerConfig {
  std::string listen = "127.0.0.1:50051";
  std::string data_dir = "./trailsentry-data";
  int max_events_per_request = 10000;
  int max_message_bytes = 64 << 20;
  int max_in_flight = 256;  // requests evaluated at once; beyond, RESOURCE_EXHAUSTED
  int64_t max_inflated_bytes = int64_t{128} << 20;  // a gzip payload inflated past this fails
  // RocksDB memory: all memtables together (a write buffer manager), and the
  // block cache for reads. What the database holds beyond these is on disk.
  int64_t memtable_bytes = int64_t{64} << 20;
  int64_t block_cache_bytes = int64_t{256} << 20;
  // Identities the engine keeps in memory even when idle. Beyond this many, an
  // identity idle past the lateness horizon (max_lateness + burst window +
  // suppression, in event time) is evicted, and read back from RocksDB when it
  // returns. ~0.9 KB each (BENCHMARKS.md): the default holds ~90 MB.
  int64_t cached_identities = 100000;
  // Below this much free disk the server refuses writes (UNAVAILABLE, /readyz
  // 503) rather than let RocksDB run out of space mid-write.
  int64_t disk_reserve_bytes = int64_t{256} << 20;
  // HTTP: worker threads, and how long a connection may take to deliver a whole
  // request (headers and body) before it is closed (slow clients, slowloris).
  int http_threads = 64;
  absl::Duration http_request_timeout = absl::Seconds(30);
  AlertsConfig alerts;
  ShardConfig shard;
};

struct Config {
  BurstConfig burst;
  absl::Duration max_lateness = absl::Hours(1);
  DiscoveryConfig discovery;
  ExclusionsConfig exclusions;
  UnusualIpConfig unusual_ip;
  ServerConfig server;
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_CONFIG_H_
