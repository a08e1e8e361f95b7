// trailsentry: the command-line client.
//
//   trailsentry scan   [--config F] [--data_dir D] [--threads N] [--tenant T] [--window_mode M]
//   PATH... trailsentry submit [--server HOST:PORT] [--batch N] [--concurrency N] PATH...
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "client/commands.h"
#include "server/engine/config_loader.h"
#include "server/pipeline/heap_prefault.h"
#include "server/pipeline/process_memory.h"

ABSL_FLAG(std::string, config, "",
          "scan, admin repair/restore: config file (protobuf text format)");
ABSL_FLAG(std::string, data_dir, "./trailsentry-data",
          "scan: data directory for baselines and alerts (\"\": in memory only); admin "
          "repair/restore: the directory to repair or restore into");
ABSL_FLAG(std::string, window_mode, "", "scan: burst window mode, sliding or tumbling");
ABSL_FLAG(std::string, server, "127.0.0.1:50051", "server address host:port");
ABSL_FLAG(std::string, token, "", "bearer token (default: $TRAILSENTRY_TOKEN)");
ABSL_FLAG(std::string, tls_ca, "", "PEM CA to verify the server: connect with TLS");
ABSL_FLAG(std::string, tls_cert, "", "PEM client certificate (mTLS)");
ABSL_FLAG(std::string, tls_key, "", "PEM key of --tls_cert");
ABSL_FLAG(std::string, tls_server_name, "", "name to check in the server certificate");
ABSL_FLAG(int, batch, 1000, "submit: records per request");
ABSL_FLAG(int, concurrency, 2, "submit: streams to the server at once");
ABSL_FLAG(int, window, 4, "submit: requests in flight per stream");
ABSL_FLAG(std::vector<std::string>, replicas, {},
          "alerts (every replica's, merged), admin owner, admin export: the replicas as in nginx's "
          "upstream and server.shard.replicas; for alerts, dns:NAME:PORT stands for every address "
          "NAME resolves to (a headless service's pods)");
ABSL_FLAG(int, page_size, 1000, "alerts: alerts per request (1..1000)");
ABSL_FLAG(std::string, out, "", "admin export: directory for the account files");
ABSL_FLAG(std::string, shard_self, "",
          "admin export: this data directory's replica in --replicas (the new ring)");
ABSL_FLAG(bool, remove, false,
          "admin export: delete each exported account from --data_dir once its file is written");
ABSL_FLAG(bool, shard, true,
          "submit: one stream per account, its account in the x-trailsentry-shard header (replicas "
          "behind a routing proxy; a failed replica fails only its accounts); --noshard: accounts "
          "hashed onto --concurrency streams");
ABSL_FLAG(int, threads, 0, "scan: threads evaluating (0: every core)");
ABSL_FLAG(std::string, tenant, "default",
          "scan: the tenant whose state is read and written (a server's --token_file maps "
          "each token to its tenant)");
ABSL_FLAG(std::string, since, "", "alerts: opened at or after this RFC 3339 time");
ABSL_FLAG(std::string, until, "", "alerts: opened before this RFC 3339 time");
ABSL_FLAG(std::string, rule_id, "", "alerts: only this rule id");
ABSL_FLAG(std::string, identity, "",
          "alerts: only this identity; trust: the identity to trust for");
ABSL_FLAG(int, limit, 100, "alerts: at most this many; watch: stop after this many (0: never)");
ABSL_FLAG(std::string, status, "",
          "alerts: only alerts in this status; triage: the new status (OPEN, ACKNOWLEDGED, "
          "RESOLVED)");
ABSL_FLAG(std::string, updated_since, "",
          "alerts: alerts changed at or after this RFC 3339 server time, most recently changed "
          "first");
ABSL_FLAG(std::string, disposition, "",
          "triage: with --status RESOLVED: TRUE_POSITIVE, FALSE_POSITIVE or BENIGN");
ABSL_FLAG(std::optional<std::string>, assignee, std::nullopt,
          "triage: assign the alert (\"\": unassign)");
ABSL_FLAG(std::string, note, "", "triage: a note to add");
ABSL_FLAG(std::string, trust_network, "",
          "triage: resolving an unusual-IP alert FALSE_POSITIVE or BENIGN, trust its network "
          "for its identity or account");
ABSL_FLAG(bool, hostile, false,
          "trust, trusted, untrust: the tenant's hostile networks (never learned; every "
          "discovery call from one is unusual)");
ABSL_FLAG(std::string, author, "", "triage: who makes the change (default: $USER)");
ABSL_FLAG(int64_t, after, 0, "watch: the changes after this sequence (0: the oldest kept)");
ABSL_FLAG(bool, from_now, false, "watch: only the changes from now on");
ABSL_FLAG(std::string, format, "json",
          "scan, submit, alerts, alert, watch: how alerts are printed: json (trailsentry's "
          "own) or ocsf (OCSF Detection Finding, class 2004)");
ABSL_FLAG(std::string, account, "", "trust, trusted, untrust: the account id");
ABSL_FLAG(std::string, expires, "",
          "trust: trusted for calls before this RFC 3339 event time (default: until untrust)");
ABSL_FLAG(bool, force, false,
          "trust: also a prefix broader than the configured minimum (/16, /32), or an "
          "identity never seen");

namespace {

constexpr char kUsage[] =
    "usage:\n"
    "  trailsentry scan   [--config F] [--data_dir D] [--threads N] [--tenant T]\n"
    "                     [--window_mode sliding|tumbling] PATH...\n"
    "  trailsentry submit [--server HOST:PORT] [--batch N] [--concurrency N] [--window N] "
    "[--noshard]\n"
    "                     PATH...\n"
    "  trailsentry identity [--server HOST:PORT] IDENTITY_KEY\n"
    "  trailsentry alerts   [--server HOST:PORT | --replicas A,B,...] [--since T] [--until T] "
    "[--rule_id R]\n"
    "                       [--identity K] [--status S] [--updated_since T] [--limit N]\n"
    "  trailsentry alert    [--server HOST:PORT] ALERT_ID\n"
    "  trailsentry triage   [--server HOST:PORT] [--status S] [--disposition D]\n"
    "                       [--assignee A] [--note TEXT] [--author WHO]\n"
    "                       [--trust_network identity|account] ALERT_ID\n"
    "  trailsentry watch    [--server HOST:PORT] [--after SEQUENCE | --from_now] [--limit N]\n"
    "  trailsentry trust    [--server HOST:PORT] (--identity K | --account A | --hostile)\n"
    "                       [--expires T]\n"
    "                       [--force] CIDR\n"
    "  trailsentry trusted  [--server HOST:PORT] (--identity K | --account A | --hostile)\n"
    "  trailsentry untrust  [--server HOST:PORT] (--identity K | --account A | --hostile) CIDR\n"
    "  trailsentry forget   [--server HOST:PORT] IDENTITY_KEY\n"
    "  trailsentry admin backup  [--server HOST:PORT] NAME    (under the server's --backup_dir)\n"
    "  trailsentry admin repair  [--config F] --data_dir D    (server stopped)\n"
    "  trailsentry admin restore [--config F] --data_dir D BACKUP_DIR   (server stopped)\n"
    "  trailsentry admin owner   [--replicas A,B,... | --config F] ACCOUNT...   (its replica)\n"
    "  trailsentry admin export  --data_dir D --out DIR [--remove]   (every tenant)\n"
    "                            (ACCOUNT... | --replicas NEW,RING --shard_self THIS)  (stopped)\n"
    "  trailsentry admin import  --data_dir D FILE...                     (server stopped)\n"
    "Connecting: --token (or $TRAILSENTRY_TOKEN), --tls_ca, --tls_cert, --tls_key.\n"
    "Alerts print as trailsentry's JSON, or with --format ocsf as OCSF Detection Findings.\n"
    "PATH: CloudTrail files or folders (S3 delivery files, JSON arrays, JSON lines,\n"
    "EventBridge envelopes; .gz or not). Alerts go to stdout as JSON lines, the\n"
    "summary to stderr. Exit: 0 ok, 1 input errors found, 2 usage, 3 failed part-way.\n";

int Usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "trailsentry: %s\n", why);
  std::fputs(kUsage, stderr);
  return trailsentry::cli::kExitUsage;
}

}  // namespace

int Main(int argc, char** argv) {
  // scan's state grows by hundreds of MB: backed by huge pages where the kernel
  // wants them asked for (glibc's malloc; first: it may re-execute), faulted in
  // a block at a time under tcmalloc. The other commands are small.
  if (argc >= 2 && std::string_view(argv[1]) == "scan") {
    trailsentry::pipeline::UseTransparentHugePages(argv);
    trailsentry::pipeline::PrefaultHeapGrowth();
  }
  // Standard output carries results (alerts as JSON lines): logs go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("trailsentry"));
  absl::SetProgramUsageMessage(kUsage);
  // --help lists this program's flags (abseil's default looks for a file named
  // after the binary, which is main.cc here, and matched none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "client/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  if (argc < 2) return Usage(nullptr);
  const std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  // Parse the flags after the command word.
  std::vector<char*> args = {argv[0]};
  for (int i = 2; i < argc; ++i) args.push_back(argv[i]);
  std::vector<char*> positional_raw =
      absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
  std::vector<std::string> paths(positional_raw.begin() + 1, positional_raw.end());
  trailsentry::Client::Options server;
  server.target = absl::GetFlag(FLAGS_server);
  server.token = absl::GetFlag(FLAGS_token);
  if (server.token.empty() && std::getenv("TRAILSENTRY_TOKEN") != nullptr) {
    server.token = std::getenv("TRAILSENTRY_TOKEN");
  }
  server.tls_ca_file = absl::GetFlag(FLAGS_tls_ca);
  server.tls_cert_file = absl::GetFlag(FLAGS_tls_cert);
  server.tls_key_file = absl::GetFlag(FLAGS_tls_key);
  server.tls_server_name = absl::GetFlag(FLAGS_tls_server_name);
  server.wait_for_ready = false;  // a server that is not there is reported in seconds
  const std::string format = absl::GetFlag(FLAGS_format);
  if (format != "json" && format != "ocsf") return Usage("--format must be json or ocsf");
  const bool ocsf = format == "ocsf";
  if (command == "alerts") {
    if (!paths.empty()) return Usage("alerts takes no positional arguments");
    return trailsentry::cli::RunAlerts(server, {.since = absl::GetFlag(FLAGS_since),
                                                .until = absl::GetFlag(FLAGS_until),
                                                .rule = absl::GetFlag(FLAGS_rule_id),
                                                .identity = absl::GetFlag(FLAGS_identity),
                                                .status = absl::GetFlag(FLAGS_status),
                                                .updated_since = absl::GetFlag(FLAGS_updated_since),
                                                .limit = absl::GetFlag(FLAGS_limit),
                                                .ocsf = ocsf,
                                                .replicas = absl::GetFlag(FLAGS_replicas),
                                                .page_size = absl::GetFlag(FLAGS_page_size)});
  }
  if (command == "watch") {
    if (!paths.empty()) return Usage("watch takes no positional arguments");
    return trailsentry::cli::RunWatch(server, {.after = absl::GetFlag(FLAGS_after),
                                               .from_now = absl::GetFlag(FLAGS_from_now),
                                               .limit = absl::GetFlag(FLAGS_limit),
                                               .ocsf = ocsf});
  }
  if (command == "alert" || command == "triage") {
    if (paths.size() != 1) return Usage((command + " takes exactly one ALERT_ID").c_str());
    if (command == "alert") return trailsentry::cli::RunAlert(server, paths[0], ocsf);
    std::string author = absl::GetFlag(FLAGS_author);
    if (author.empty() && std::getenv("USER") != nullptr) author = std::getenv("USER");
    return trailsentry::cli::RunTriage(server,
                                       {.alert_id = paths[0],
                                        .status = absl::GetFlag(FLAGS_status),
                                        .disposition = absl::GetFlag(FLAGS_disposition),
                                        .assignee = absl::GetFlag(FLAGS_assignee),
                                        .note = absl::GetFlag(FLAGS_note),
                                        .author = author,
                                        .trust_network = absl::GetFlag(FLAGS_trust_network)});
  }
  if (command == "trusted") {
    if (!paths.empty()) return Usage("trusted takes no positional arguments");
    return trailsentry::cli::RunTrusted(server, {.identity = absl::GetFlag(FLAGS_identity),
                                                 .account = absl::GetFlag(FLAGS_account),
                                                 .hostile = absl::GetFlag(FLAGS_hostile)});
  }
  if (command == "identity" || command == "forget" || command == "trust" || command == "untrust") {
    if (paths.size() != 1) return Usage((command + " takes exactly one argument").c_str());
    if (command == "identity") return trailsentry::cli::RunIdentity(server, paths[0]);
    if (command == "forget") return trailsentry::cli::RunForget(server, paths[0]);
    const trailsentry::cli::TrustOptions trust{.identity = absl::GetFlag(FLAGS_identity),
                                               .account = absl::GetFlag(FLAGS_account),
                                               .cidr = paths[0],
                                               .expires = absl::GetFlag(FLAGS_expires),
                                               .force = absl::GetFlag(FLAGS_force),
                                               .hostile = absl::GetFlag(FLAGS_hostile)};
    if (command == "untrust") return trailsentry::cli::RunUntrust(server, trust);
    return trailsentry::cli::RunTrust(server, trust);
  }
  trailsentry::engine::Config config;
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    auto loaded = trailsentry::engine::LoadConfigFile(path);
    if (!loaded.ok()) return Usage(std::string(loaded.status().message()).c_str());
    config = *loaded;
  }
  if (command == "admin") {
    const std::string what = paths.empty() ? "" : paths[0];
    if (what == "backup" && paths.size() == 2) return trailsentry::cli::RunBackup(server, paths[1]);
    if (what == "repair" && paths.size() == 1) {
      return trailsentry::cli::RunRepair(config, absl::GetFlag(FLAGS_data_dir));
    }
    if (what == "restore" && paths.size() == 2) {
      return trailsentry::cli::RunRestore(config, paths[1], absl::GetFlag(FLAGS_data_dir));
    }
    if (what == "export") {
      return trailsentry::cli::RunExport(config, {.data_dir = absl::GetFlag(FLAGS_data_dir),
                                                  .out_dir = absl::GetFlag(FLAGS_out),
                                                  .shard_self = absl::GetFlag(FLAGS_shard_self),
                                                  .accounts = {paths.begin() + 1, paths.end()},
                                                  .replicas = absl::GetFlag(FLAGS_replicas),
                                                  .remove = absl::GetFlag(FLAGS_remove)});
    }
    if (what == "import" && paths.size() >= 2) {
      return trailsentry::cli::RunImport(config, absl::GetFlag(FLAGS_data_dir),
                                         {paths.begin() + 1, paths.end()});
    }
    if (what == "owner" && paths.size() >= 2) {
      std::vector<std::string> replicas = absl::GetFlag(FLAGS_replicas);
      if (replicas.empty()) replicas = config.server.shard.replicas;
      return trailsentry::cli::RunOwner(replicas, {paths.begin() + 1, paths.end()});
    }
    return Usage(
        "admin: backup NAME | repair | restore BACKUP_DIR | export | import FILE... | owner "
        "ACCOUNT...");
  }
  if (paths.empty()) return Usage("no PATH given");
  if (command == "scan") {
    const std::string mode = absl::GetFlag(FLAGS_window_mode);
    if (mode == "tumbling") {
      config.burst.mode = trailsentry::engine::BurstMode::kTumbling;
      config.burst.suppression = absl::ZeroDuration();
    } else if (mode == "sliding") {
      config.burst.mode = trailsentry::engine::BurstMode::kSliding;
    } else if (!mode.empty()) {
      return Usage("--window_mode must be sliding or tumbling");
    }
    return trailsentry::cli::RunScan({.config = config,
                                      .data_dir = absl::GetFlag(FLAGS_data_dir),
                                      .threads = absl::GetFlag(FLAGS_threads),
                                      .tenant = absl::GetFlag(FLAGS_tenant),
                                      .ocsf = ocsf},
                                     paths);
  }
  if (command == "submit") {
    return trailsentry::cli::RunSubmit({.connection = server,
                                        .batch = absl::GetFlag(FLAGS_batch),
                                        .concurrency = absl::GetFlag(FLAGS_concurrency),
                                        .window = absl::GetFlag(FLAGS_window),
                                        .ocsf = ocsf,
                                        .shard = absl::GetFlag(FLAGS_shard)},
                                       paths);
  }
  return Usage(("unknown command \"" + command + "\"").c_str());
}

// A resource the process cannot get (memory, threads, address space) stops it
// with a message and exit 3, never with results quietly changed.
int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr,
                 "trailsentry: stopped: %s (out of memory, threads or address space?); the "
                 "output is incomplete\n",
                 e.what());
    return trailsentry::cli::kExitFailed;
  }
}
