#include "server/engine/config_loader.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <fstream>
#include <sstream>

#include "absl/algorithm/container.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/engine/absl_view.h"
#include "server/engine/network.h"
#include "trailsentry/v1/config.pb.h"

namespace trailsentry::engine {
namespace {

namespace pb = ::trailsentry::v1;

// Collects text-format parse errors with their line and column.
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    errors_.push_back(absl::StrCat("line ", line + 1, " column ", column + 1, ": ", message));
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  std::vector<std::string> errors_;
};

absl::Status Duration(bool has, const std::string& text, std::string_view field,
                      absl::Duration& out) {
  if (!has) return absl::OkStatus();
  absl::Duration d;
  if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(field), ": not a duration: \"", text,
                                                   "\" (use e.g. \"10s\", \"10m\", \"1h\")"));
  }
  out = d;
  return absl::OkStatus();
}

void List(bool has, const pb::StringList& list, std::vector<std::string>& out) {
  if (has) out.assign(list.values().begin(), list.values().end());
}

absl::Status AlertsFromProto(const pb::AlertsConfig& p, AlertsConfig& c) {
  if (absl::Status s = Duration(p.has_change_retention(), p.change_retention(),
                                "server.alerts.change_retention", c.change_retention);
      !s.ok()) {
    return s;
  }
  if (p.has_link_template()) c.link_template = p.link_template();
  for (int i = 0; i < p.webhooks_size(); ++i) {
    const pb::WebhookConfig& w = p.webhooks(i);
    WebhookConfig& out = c.webhooks.emplace_back();
    const std::string field = absl::StrCat("server.alerts.webhooks[", i, "]");
    out.name = w.name();
    out.url = w.url();
    out.secret_file = w.secret_file();
    out.ca_file = w.ca_file();
    out.tenant = w.tenant();
    out.ocsf = w.format() == pb::WebhookConfig::OCSF;
    if (absl::Status s = Duration(w.has_timeout(), w.timeout(), field + ".timeout", out.timeout);
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            Duration(w.has_max_backoff(), w.max_backoff(), field + ".max_backoff", out.max_backoff);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status FromProto(const pb::Config& p, Config& c) {
  if (p.has_burst()) {
    const auto& b = p.burst();
    if (absl::Status s = Duration(b.has_window(), b.window(), "burst.window", c.burst.window);
        !s.ok()) {
      return s;
    }
    if (b.has_threshold()) c.burst.threshold = b.threshold();
    if (b.has_enabled()) c.burst.enabled = b.enabled();
    if (b.mode() == pb::BurstConfig::TUMBLING) {
      c.burst.mode = BurstMode::kTumbling;
      c.burst.suppression = absl::ZeroDuration();
    }
    if (absl::Status s = Duration(b.has_suppression(), b.suppression(), "burst.suppression",
                                  c.burst.suppression);
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s =
          Duration(p.has_max_lateness(), p.max_lateness(), "max_lateness", c.max_lateness);
      !s.ok()) {
    return s;
  }
  if (p.has_discovery()) {
    const auto& d = p.discovery();
    List(d.has_providers(), d.providers(), c.discovery.providers);
    List(d.has_prefixes(), d.prefixes(), c.discovery.prefixes);
    List(d.has_excluded_actions(), d.excluded_actions(), c.discovery.excluded_actions);
  }
  if (p.has_exclusions()) {
    const auto& e = p.exclusions();
    List(e.has_user_names(), e.user_names(), c.exclusions.user_names);
    List(e.has_identity_allowlist(), e.identity_allowlist(), c.exclusions.identity_allowlist);
    List(e.has_user_agent_allowlist(), e.user_agent_allowlist(), c.exclusions.user_agent_allowlist);
  }
  if (p.has_unusual_ip()) {
    const auto& u = p.unusual_ip();
    auto& c_u = c.unusual_ip;
    if (u.has_ipv4_prefix()) c_u.ipv4_prefix = u.ipv4_prefix();
    if (u.has_ipv6_prefix()) c_u.ipv6_prefix = u.ipv6_prefix();
    if (u.has_min_trusted_prefix_v4()) c_u.min_trusted_prefix_v4 = u.min_trusted_prefix_v4();
    if (u.has_min_trusted_prefix_v6()) c_u.min_trusted_prefix_v6 = u.min_trusted_prefix_v6();
    for (auto [has, text, name, out] :
         {std::tuple{u.has_settle(), &u.settle(), "unusual_ip.settle", &c_u.settle},
          std::tuple{u.has_history(), &u.history(), "unusual_ip.history", &c_u.history},
          std::tuple{u.has_learning(), &u.learning(), "unusual_ip.learning", &c_u.learning},
          std::tuple{u.has_suppression(), &u.suppression(), "unusual_ip.suppression",
                     &c_u.suppression}}) {
      if (absl::Status s = Duration(has, *text, name, *out); !s.ok()) return s;
    }
    if (u.has_min_distinct_calls()) c_u.min_distinct_calls = u.min_distinct_calls();
    if (u.has_require_new_to_account()) c_u.require_new_to_account = u.require_new_to_account();
    if (u.has_enabled()) c_u.enabled = u.enabled();
    List(u.has_network_allowlist(), u.network_allowlist(), c_u.network_allowlist);
  }
  if (p.has_server()) {
    const auto& s = p.server();
    if (s.has_listen()) c.server.listen = s.listen();
    if (s.has_data_dir()) c.server.data_dir = s.data_dir();
    if (s.has_max_events_per_request())
      c.server.max_events_per_request = s.max_events_per_request();
    if (s.has_max_message_bytes()) c.server.max_message_bytes = s.max_message_bytes();
    if (s.has_max_in_flight()) c.server.max_in_flight = s.max_in_flight();
    if (s.has_max_inflated_bytes()) c.server.max_inflated_bytes = s.max_inflated_bytes();
    if (s.has_memtable_bytes()) c.server.memtable_bytes = s.memtable_bytes();
    if (s.has_block_cache_bytes()) c.server.block_cache_bytes = s.block_cache_bytes();
    if (s.has_cached_identities()) c.server.cached_identities = s.cached_identities();
    if (s.has_disk_reserve_bytes()) c.server.disk_reserve_bytes = s.disk_reserve_bytes();
    if (s.has_http_threads()) c.server.http_threads = s.http_threads();
    if (absl::Status st = Duration(s.has_http_request_timeout(), s.http_request_timeout(),
                                   "server.http_request_timeout", c.server.http_request_timeout);
        !st.ok()) {
      return st;
    }
    if (absl::Status st = AlertsFromProto(s.alerts(), c.server.alerts); !st.ok()) return st;
    if (s.shard().has_self()) c.server.shard.self = s.shard().self();
    c.server.shard.replicas.assign(s.shard().replicas().begin(), s.shard().replicas().end());
  }
  return absl::OkStatus();
}

absl::Status Invalid(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(AbslView(field), ": ", AbslView(why)));
}

absl::Status ValidateShard(const ShardConfig& s) {
  if (s.replicas.empty()) {
    if (!s.self.empty()) return Invalid("server.shard.replicas", "required with server.shard.self");
    return absl::OkStatus();
  }
  absl::flat_hash_set<std::string> names;
  for (size_t i = 0; i < s.replicas.size(); ++i) {
    if (s.replicas[i].empty()) {
      return Invalid(absl::StrCat("server.shard.replicas[", i, "]"), "must not be empty");
    }
    if (!names.insert(s.replicas[i]).second) {
      return Invalid(absl::StrCat("server.shard.replicas[", i, "]"),
                     absl::StrCat("\"", s.replicas[i], "\" is listed twice"));
    }
  }
  if (!names.contains(s.self)) {
    return Invalid("server.shard.self",
                   absl::StrCat("\"", s.self, "\" is not one of server.shard.replicas"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAlerts(const AlertsConfig& a) {
  if (a.change_retention < absl::Minutes(1)) {
    return Invalid("server.alerts.change_retention", "must be at least 1m");
  }
  absl::flat_hash_set<std::string> names;
  for (size_t i = 0; i < a.webhooks.size(); ++i) {
    const WebhookConfig& w = a.webhooks[i];
    const std::string field = absl::StrCat("server.alerts.webhooks[", i, "]");
    if (w.name.empty() || w.name.size() > 64 || !absl::c_all_of(w.name, [](char ch) {
          return absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_';
        })) {
      return Invalid(field + ".name", "required: 1..64 of [A-Za-z0-9_-]");
    }
    if (!names.insert(w.name).second) {
      return Invalid(field + ".name", absl::StrCat("\"", w.name, "\" is used twice"));
    }
    if (!absl::StartsWith(w.url, "http://") && !absl::StartsWith(w.url, "https://")) {
      return Invalid(field + ".url", "required: an http:// or https:// URL");
    }
    if (w.secret_file.empty()) {
      return Invalid(field + ".secret_file",
                     "required: a file holding the HMAC-SHA256 key that signs each delivery");
    }
    if (w.timeout < absl::Milliseconds(100)) return Invalid(field + ".timeout", "must be >= 100ms");
    if (w.max_backoff < absl::Seconds(1)) return Invalid(field + ".max_backoff", "must be >= 1s");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateConfig(const Config& c) {
  if (c.burst.window < absl::Seconds(1)) return Invalid("burst.window", "must be at least 1s");
  if (c.burst.window > absl::Hours(1)) return Invalid("burst.window", "must be at most 1h");
  if (c.burst.threshold < 1) return Invalid("burst.threshold", "must be at least 1");
  if (c.burst.threshold > 1000) return Invalid("burst.threshold", "must be at most 1000");
  if (c.burst.suppression < absl::ZeroDuration()) {
    return Invalid("burst.suppression", "must not be negative");
  }
  if (c.burst.suppression > absl::Hours(24)) {
    return Invalid("burst.suppression", "must be at most 24h");
  }
  // An episode spans at least its firing window: a shorter suppression would
  // leave its own events out of it.
  if (c.burst.mode == BurstMode::kSliding && c.burst.suppression < c.burst.window) {
    return Invalid("burst.suppression",
                   "must be at least burst.window in SLIDING mode (an episode spans its firing "
                   "window); it does not apply in TUMBLING mode");
  }
  if (c.max_lateness < c.burst.window) {
    return Invalid("max_lateness", "must be at least burst.window");
  }
  if (c.max_lateness > absl::Hours(24 * 7)) return Invalid("max_lateness", "must be at most 168h");
  if (c.discovery.providers.empty()) {
    return Invalid("discovery.providers", "must not be empty (use \"*\" for any service)");
  }
  for (const std::string& p : c.discovery.providers) {
    if (p.empty()) return Invalid("discovery.providers", "holds an empty name");
  }
  if (c.discovery.prefixes.empty()) return Invalid("discovery.prefixes", "must not be empty");
  for (const std::string& p : c.discovery.prefixes) {
    if (p.empty()) return Invalid("discovery.prefixes", "holds an empty prefix");
  }
  for (const std::string& p : c.exclusions.user_agent_allowlist) {
    if (p.empty()) {
      return Invalid("exclusions.user_agent_allowlist",
                     "holds an empty substring (would match all)");
    }
  }
  const auto& u = c.unusual_ip;
  if (u.ipv4_prefix < 8 || u.ipv4_prefix > 32)
    return Invalid("unusual_ip.ipv4_prefix", "must be 8..32");
  if (u.min_trusted_prefix_v4 < 0 || u.min_trusted_prefix_v4 > 32) {
    return Invalid("unusual_ip.min_trusted_prefix_v4", "must be 0..32");
  }
  if (u.min_trusted_prefix_v6 < 0 || u.min_trusted_prefix_v6 > 128) {
    return Invalid("unusual_ip.min_trusted_prefix_v6", "must be 0..128");
  }
  if (u.ipv6_prefix < 16 || u.ipv6_prefix > 128) {
    return Invalid("unusual_ip.ipv6_prefix", "must be 16..128");
  }
  // settle and history of at least a second keep "known at t" to observations
  // strictly before t (CloudTrail times have 1 s resolution).
  struct Range {
    absl::Duration value;
    const char* name;
    absl::Duration min, max;
  };
  for (const Range& r :
       {Range{u.settle, "unusual_ip.settle", absl::Seconds(1), absl::Hours(24 * 7)},
        Range{u.history, "unusual_ip.history", absl::Seconds(1), absl::Hours(24 * 366)},
        Range{u.learning, "unusual_ip.learning", absl::ZeroDuration(), absl::Hours(24 * 366)},
        Range{u.suppression, "unusual_ip.suppression", absl::ZeroDuration(),
              absl::Hours(24 * 30)}}) {
    if (r.value < r.min || r.value > r.max) {
      return Invalid(r.name, absl::StrCat("must be ", absl::FormatDuration(r.min), "..",
                                          absl::FormatDuration(r.max)));
    }
  }
  if (u.min_distinct_calls < 1 || u.min_distinct_calls > 1000)
    return Invalid("unusual_ip.min_distinct_calls", "must be 1..1000");
  for (const std::string& cidr : u.network_allowlist) {
    if (!Network::ParseCidr(cidr).ok()) {
      return Invalid("unusual_ip.network_allowlist", absl::StrCat("not a CIDR: \"", cidr, "\""));
    }
  }
  if (c.server.max_events_per_request < 1) {
    return Invalid("server.max_events_per_request", "must be at least 1");
  }
  if (c.server.max_in_flight < 1) return Invalid("server.max_in_flight", "must be at least 1");
  if (c.server.max_message_bytes < 1024) {
    return Invalid("server.max_message_bytes", "must be at least 1024");
  }
  if (c.server.max_inflated_bytes < 1024) {
    return Invalid("server.max_inflated_bytes", "must be at least 1024");
  }
  if (c.server.memtable_bytes < (int64_t{4} << 20)) {
    return Invalid("server.memtable_bytes", "must be at least 4194304 (4 MiB)");
  }
  if (c.server.http_threads < 2 || c.server.http_threads > 4096) {
    return Invalid("server.http_threads", "must be 2..4096");
  }
  if (c.server.http_request_timeout < absl::Seconds(1)) {
    return Invalid("server.http_request_timeout", "must be at least 1s");
  }
  if (c.server.disk_reserve_bytes < 0) {
    return Invalid("server.disk_reserve_bytes", "must not be negative");
  }
  if (c.server.cached_identities < 0 || c.server.cached_identities > 1000000000) {
    return Invalid("server.cached_identities", "must be 0..1000000000");
  }
  if (c.server.block_cache_bytes < (int64_t{1} << 20)) {
    return Invalid("server.block_cache_bytes", "must be at least 1048576 (1 MiB)");
  }
  if (absl::Status st = ValidateShard(c.server.shard); !st.ok()) return st;
  return ValidateAlerts(c.server.alerts);
}

absl::StatusOr<Config> ParseConfig(std::string_view text_proto) {
  pb::Config proto;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text_proto), &proto)) {
    return absl::InvalidArgumentError(absl::StrCat("config: ", errors.Joined()));
  }
  Config config;
  if (absl::Status s = FromProto(proto, config); !s.ok()) return s;
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  return config;
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open config file"));
  std::stringstream ss;
  ss << in.rdbuf();
  absl::StatusOr<Config> c = ParseConfig(ss.str());
  if (!c.ok())
    return absl::Status(c.status().code(), absl::StrCat(path, ": ", c.status().message()));
  return c;
}

}  // namespace trailsentry::engine
