// trailsentry: the command-line client.
//
//   trailsentry scan   [--config F] [--data_dir D] [--window_mode sliding|tumbling] PATH...
//   trailsentry submit [--server HOST:PORT] [--batch N] PATH...
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "client/commands.h"
#include "server/engine/config_loader.h"

ABSL_FLAG(std::string, config, "", "scan: config file (protobuf text format)");
ABSL_FLAG(std::string, data_dir, "./trailsentry-data",
          "scan: data directory (baselines; reserved until the unusual-IP rule lands)");
ABSL_FLAG(std::string, window_mode, "", "scan: burst window mode, sliding or tumbling");
ABSL_FLAG(std::string, server, "127.0.0.1:50051", "submit: server address host:port");
ABSL_FLAG(int, batch, 500, "submit: events per request");

namespace {

constexpr char kUsage[] =
    "usage:\n"
    "  trailsentry scan   [--config F] [--data_dir D] [--window_mode sliding|tumbling] PATH...\n"
    "  trailsentry submit [--server HOST:PORT] [--batch N] PATH...\n"
    "PATH: CloudTrail files or folders (S3 delivery files, JSON arrays, JSON lines,\n"
    "EventBridge envelopes; .gz or not). Alerts go to stdout as JSON lines, the\n"
    "summary to stderr. Exit: 0 ok, 1 input errors found, 2 usage.\n";

int Usage(const char* why) {
  if (why != nullptr) std::fprintf(stderr, "trailsentry: %s\n", why);
  std::fputs(kUsage, stderr);
  return trailsentry::cli::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(kUsage);
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
  if (paths.empty()) return Usage("no PATH given");

  if (command == "scan") {
    trailsentry::engine::Config config;
    if (const std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
      auto loaded = trailsentry::engine::LoadConfigFile(path);
      if (!loaded.ok()) return Usage(std::string(loaded.status().message()).c_str());
      config = *loaded;
    }
    const std::string mode = absl::GetFlag(FLAGS_window_mode);
    if (mode == "tumbling") {
      config.burst.mode = trailsentry::engine::BurstMode::kTumbling;
      config.burst.suppression = absl::ZeroDuration();
    } else if (mode == "sliding") {
      config.burst.mode = trailsentry::engine::BurstMode::kSliding;
    } else if (!mode.empty()) {
      return Usage("--window_mode must be sliding or tumbling");
    }
    return trailsentry::cli::RunScan(config, paths);
  }
  if (command == "submit") {
    return trailsentry::cli::RunSubmit(
        {.server = absl::GetFlag(FLAGS_server), .batch = absl::GetFlag(FLAGS_batch)}, paths);
  }
  return Usage(("unknown command \"" + command + "\"").c_str());
}
