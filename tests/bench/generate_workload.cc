// trailsentry-gen: writes a realistic CloudTrail workload as JSON lines.
//
//   trailsentry-gen --events 1000000 --identities 5000 --seed 1 > workload.jsonl
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "tests/bench/workload_generator.h"

ABSL_FLAG(int64_t, events, 1000000, "number of records");
ABSL_FLAG(int, identities, 5000, "number of identities");
ABSL_FLAG(int, accounts, 20, "number of AWS accounts");
ABSL_FLAG(uint64_t, seed, 1, "random seed (same seed, same output)");
ABSL_FLAG(double, rate, 50, "events per second of event time");
ABSL_FLAG(int64_t, start, 1767225600, "event time of the first record, seconds since the epoch");
ABSL_FLAG(double, bursts, 0.0002, "chance that a record starts a CLI recon burst");

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  trailsentry::bench::WorkloadGenerator gen({.seed = absl::GetFlag(FLAGS_seed),
                                             .identities = absl::GetFlag(FLAGS_identities),
                                             .accounts = absl::GetFlag(FLAGS_accounts),
                                             .events = absl::GetFlag(FLAGS_events),
                                             .start_epoch_seconds = absl::GetFlag(FLAGS_start),
                                             .events_per_second = absl::GetFlag(FLAGS_rate),
                                             .burst_probability = absl::GetFlag(FLAGS_bursts)});
  std::string line;
  uint64_t bytes = 0, n = 0;
  while (gen.Next(line)) {
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
    bytes += line.size();
    ++n;
  }
  std::fprintf(stderr, "trailsentry-gen: %llu records, %.0f bytes/record, %lld CLI bursts\n",
               static_cast<unsigned long long>(n),
               n ? static_cast<double>(bytes) / static_cast<double>(n) : 0.0,
               static_cast<long long>(gen.bursts_started()));
  return 0;
}
