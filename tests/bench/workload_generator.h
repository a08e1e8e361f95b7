// WorkloadGenerator: a realistic, deterministic CloudTrail workload for benchmarks.
//
// Records look like AWS's (~1.2 KB on average): thousands of identities (IAM
// users, assumed-role sessions, AWS services) across accounts, ~25 services, a
// mix of user agents (AWS CLI, Boto3, SDKs, Terraform, console, AWS Internal),
// failed calls, slightly out-of-order times, and a few CLI recon bursts.
//
//   WorkloadGenerator gen({.seed = 1, .identities = 5000});
//   std::string line;
//   while (gen.Next(line)) out << line << '\n';
#ifndef TRAILSENTRY_TESTS_BENCH_WORKLOAD_GENERATOR_H_
#define TRAILSENTRY_TESTS_BENCH_WORKLOAD_GENERATOR_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace trailsentry::bench {

class WorkloadGenerator {
 public:
  struct Options {
    uint64_t seed = 1;
    int identities = 5000;
    int accounts = 20;
    int64_t events = 1000000;
    int64_t start_epoch_seconds = 1767225600;  // 2026-01-01T00:00:00Z
    double events_per_second = 50;             // event-time rate
    double burst_probability = 0.0002;         // chance an event starts a CLI recon burst
  };

  explicit WorkloadGenerator(Options options);
  // Writes the next record (no newline) into `out`; false when done.
  bool Next(std::string& out);
  int64_t bursts_started() const { return bursts_started_; }

 private:
  struct Identity {
    std::string type, arn, principal, account, user_name, issuer_arn, issuer_name, access_key;
    std::vector<std::string> ips;
    int agent_kind;  // index into the agent mix
  };
  void MakeIdentities();
  void Emit(const Identity& id, int64_t millis, const std::string& source, const std::string& name,
            const std::string& agent, const std::string& ip, bool failed, std::string& out);
  std::string Agent(int kind, const std::string& source, const std::string& name);

  Options options_;
  std::mt19937_64 rng_;
  std::vector<Identity> identities_;
  int64_t emitted_ = 0;
  int64_t bursts_started_ = 0;
  // A CLI burst in progress: identity and remaining calls.
  int burst_identity_ = -1;
  int burst_left_ = 0;
  int64_t burst_start_ms_ = 0;
  std::string burst_ip_;
};

}  // namespace trailsentry::bench

#endif  // TRAILSENTRY_TESTS_BENCH_WORKLOAD_GENERATOR_H_
