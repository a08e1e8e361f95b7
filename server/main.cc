// trailsentryd: the trailsentry detection server.
//
//   trailsentryd --listen 127.0.0.1:50051 --data_dir ./trailsentry-data
//   trailsentryd --config /etc/trailsentry/config.textproto
#include <google/protobuf/stubs/logging.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/engine/config_loader.h"
#include "server/engine/printable.h"
#include "server/pipeline/heap_prefault.h"
#include "server/pipeline/process_memory.h"
#include "server/service/server.h"

ABSL_FLAG(std::string, config, "", "Config file (protobuf text format, see config.proto)");
ABSL_FLAG(std::string, listen, "", "host:port to listen on (default 127.0.0.1:50051)");
ABSL_FLAG(std::string, data_dir, "", "Data directory (default ./trailsentry-data)");
ABSL_FLAG(std::string, window_mode, "", "Burst window mode: sliding or tumbling");
ABSL_FLAG(std::string, log_level, "info", "trace, debug, info, warn, error");
ABSL_FLAG(int, shutdown_grace_seconds, 10, "On SIGTERM, how long in-flight calls may finish");
ABSL_FLAG(bool, sync, false, "fsync every acknowledged request (durable across power loss)");
ABSL_FLAG(std::string, token_file, "",
          "Bearer tokens, one \"<token> <tenant>\" per line; reloaded on SIGHUP. Empty: no auth");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate chain: serve TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "", "PEM CA: require client certificates it signed (mTLS)");
ABSL_FLAG(std::string, health_listen, "",
          "host:port of a plain-HTTP listener with only /healthz and /readyz, for probes that "
          "cannot present a client certificate when --tls_client_ca is on (empty: off)");
ABSL_FLAG(std::string, backup_dir, "",
          "Directory where `trailsentry admin backup NAME` writes backups (empty: off)");
ABSL_FLAG(bool, check_config, false, "Validate the configuration and exit (0: valid, 2: not)");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "host:port of the HTTP/JSON API, /healthz, /readyz and /metrics (\"\": off)");
ABSL_FLAG(std::string, shard_self, "",
          "This replica's name in server.shard.replicas (overrides server.shard.self; e.g. "
          "$(POD_NAME).trailsentry:50051 in a StatefulSet sharing one config)");
ABSL_FLAG(bool, allow_insecure_remote, false,
          "Allow a non-loopback --listen without --token_file or --tls_client_ca");

namespace {

using trailsentry::engine::Config;

absl::StatusOr<Config> BuildConfig() {
  Config config;
  if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<Config> loaded = trailsentry::engine::LoadConfigFile(path);
    if (!loaded.ok()) return loaded.status();
    config = *loaded;
  }
  if (const std::string v = absl::GetFlag(FLAGS_listen); !v.empty()) config.server.listen = v;
  if (const std::string v = absl::GetFlag(FLAGS_data_dir); !v.empty()) config.server.data_dir = v;
  if (const std::string v = absl::GetFlag(FLAGS_shard_self); !v.empty()) {
    config.server.shard.self = v;
  }
  if (const std::string mode = absl::GetFlag(FLAGS_window_mode); mode == "tumbling") {
    config.burst.mode = trailsentry::engine::BurstMode::kTumbling;
    config.burst.suppression = absl::ZeroDuration();
  } else if (mode == "sliding") {
    config.burst.mode = trailsentry::engine::BurstMode::kSliding;
  } else if (!mode.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--window_mode: expected sliding or tumbling, got \"", mode, "\""));
  }
  if (absl::Status s = trailsentry::engine::ValidateConfig(config); !s.ok()) return s;
  return config;
}

}  // namespace

int Main(int argc, char** argv) {
  trailsentry::pipeline::UseTransparentHugePages(argv);
  trailsentry::pipeline::KeepLargeAllocationsForReuse();
  const bool prefaulting = trailsentry::pipeline::PrefaultHeapGrowth();
  // Debian's abseil is built without NDEBUG, so every absl::Mutex gRPC takes
  // (several per call) would also be checked for lock-order cycles, in a graph
  // behind one process-wide lock (~0.6% of the request threads' samples, and
  // the two request threads contending for that lock). Our own mutexes are std::mutex,
  // checked at compile time (-Wthread-safety); the in-process tests, which do
  // not run this main, keep abseil's check.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  absl::SetProgramUsageMessage(
      "trailsentry detection server. Flags override the config file.\n\n"
      "  trailsentryd [--config F] [--listen HOST:PORT] [--http_listen HOST:PORT] "
      "[--data_dir D] ...");
  // --help lists this program's flags (abseil's default looks for a file named
  // after the binary, which is main.cc here, and matched none).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "server/main.cc");
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  spdlog::set_level(spdlog::level::from_str(absl::GetFlag(FLAGS_log_level)));
  // Protobuf logs what a caller's bytes did (a string field that is not UTF-8):
  // the caller gets the error; the log gets it escaped, at debug level.
  google::protobuf::SetLogHandler(
      [](google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
        const std::string text = trailsentry::engine::Printable(message);
        if (level == google::protobuf::LOGLEVEL_FATAL) {
          spdlog::critical("protobuf {}:{}: {}", file, line, text);
        } else {
          spdlog::debug("protobuf {}:{}: {}", file, line, text);
        }
      });

  absl::StatusOr<Config> config = BuildConfig();
  if (!config.ok()) {
    std::fprintf(stderr, "trailsentryd: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  if (absl::GetFlag(FLAGS_check_config)) {
    std::printf("trailsentryd: configuration is valid\n");
    return 0;
  }
  std::error_code ec;
  std::filesystem::create_directories(config->server.data_dir, ec);
  if (ec) {
    spdlog::error("cannot create data dir {}: {}", config->server.data_dir, ec.message());
    return 1;
  }

  // Block the shutdown signals before gRPC starts its threads, then wait for one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = trailsentry::service::Server::Start(
      *config, {.sync = absl::GetFlag(FLAGS_sync),
                .token_file = absl::GetFlag(FLAGS_token_file),
                .tls_cert = absl::GetFlag(FLAGS_tls_cert),
                .tls_key = absl::GetFlag(FLAGS_tls_key),
                .tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca),
                .allow_insecure_remote = absl::GetFlag(FLAGS_allow_insecure_remote),
                .http_listen = absl::GetFlag(FLAGS_http_listen),
                .backup_dir = absl::GetFlag(FLAGS_backup_dir),
                .health_listen = absl::GetFlag(FLAGS_health_listen)});
  if (!server.ok()) {
    spdlog::error("{}", std::string(server.status().message()));
    return 1;
  }
  spdlog::info(
      "trailsentryd listening on {} (port {}), HTTP on port {}, data dir {}, burst mode {}",
      config->server.listen, (*server)->port(), (*server)->http_port(), config->server.data_dir,
      config->burst.mode == trailsentry::engine::BurstMode::kSliding ? "sliding" : "tumbling");
  if (prefaulting) {
    spdlog::info("fresh heap memory is faulted in a block at a time (TRAILSENTRY_PREFAULT=0: off)");
  }
  if (!config->server.shard.replicas.empty()) {
    spdlog::info(
        "shard: replica {} of {}; events of accounts the ring gives to another are refused",
        config->server.shard.self, config->server.shard.replicas.size());
  }
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    if (absl::Status s = (*server)->ReloadTokens(); s.ok()) {
      spdlog::info("SIGHUP: token file reloaded");
    } else {
      spdlog::error("SIGHUP: keeping the tokens in force: {}", std::string(s.message()));
    }
  }
  spdlog::info("signal {} received: draining in-flight calls", sig);
  (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_seconds)));
  spdlog::info("stopped");
  return 0;
}

// A resource the process cannot get (memory, threads, address space) stops it
// with a message, never quietly.
int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "trailsentryd: stopped: %s (out of memory, threads or address space?)\n",
                 e.what());
    return 1;
  }
}
