// trailsentry-load: drives a running trailsentryd the way a fleet of senders
// would, and reports throughput and latency percentiles (the role ghz plays for
// other gRPC services), on the C++ client library.
//
// N clients, each on its own connection, send generated CloudTrail records
// (tests/bench/workload_generator.h: realistic, ~1.2 KB, every client its own
// identities) as raw JSON in requests of --batch events:
//   --mode unary   Evaluate calls, one at a time per client;
//   --mode stream  one EvaluateStream per client, --window requests in flight;
//   --mode http    POST /v1/evaluate (JSON) on --http, keep-alive.
// With --rate R (requests/s over all clients) requests are sent on a fixed
// schedule and latency counts from the scheduled time (no coordinated
// omission); without it each client sends as fast as it is answered. Every
// --report seconds one line: requests/s, events/s, p50/p99/p99.9, errors.
//
//   trailsentry-load --server 127.0.0.1:50051 --mode unary --clients 8 --duration 30
//   trailsentry-load --server 127.0.0.1:50051 --mode unary --clients 8 --rate 500
//   trailsentry-load --http 127.0.0.1:8080 --mode http --clients 8
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/client.h"
#include "client/evaluate_pipeline.h"
#include "tests/bench/workload_generator.h"

ABSL_FLAG(std::string, server, "127.0.0.1:50051", "gRPC address (unary, stream)");
ABSL_FLAG(std::string, http, "127.0.0.1:8080", "HTTP address (http)");
ABSL_FLAG(std::string, mode, "unary", "unary, stream or http");
ABSL_FLAG(std::string, token, "", "bearer token");
ABSL_FLAG(int, clients, 4, "concurrent clients, each on its own connection");
ABSL_FLAG(int, batch, 100, "events per request");
ABSL_FLAG(int, window, 4, "stream: requests in flight per client");
ABSL_FLAG(double, rate, 0, "requests/s over all clients (0: as fast as answered)");
ABSL_FLAG(int, duration, 30, "seconds to run");
ABSL_FLAG(int, report, 10, "seconds between report lines");
ABSL_FLAG(int, identities, 5000, "identities per client");
ABSL_FLAG(double, events_per_second, 50, "event-time rate of each client's workload");
ABSL_FLAG(uint64_t, seed, 1, "workload seed (client i uses seed + i)");

namespace trailsentry::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Latencies (microseconds) and errors since the last report, from every client.
class Recorder {
 public:
  void Ok(Clock::duration latency, int events) {
    std::lock_guard<std::mutex> lock(mu_);
    latencies_.push_back(std::chrono::duration_cast<std::chrono::microseconds>(latency).count());
    events_ += events;
  }
  void Error(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    ++errors_[what];
  }

  struct Interval {
    std::vector<int64_t> latencies;  // sorted
    int64_t events = 0;
    std::map<std::string, int64_t> errors;
  };
  Interval Take() {
    Interval out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      out.latencies.swap(latencies_);
      out.events = events_;
      events_ = 0;
      out.errors.swap(errors_);
    }
    std::sort(out.latencies.begin(), out.latencies.end());
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<int64_t> latencies_;
  int64_t events_ = 0;
  std::map<std::string, int64_t> errors_;
};

double Percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()));
  return static_cast<double>(sorted[i]) / 1000.0;  // ms
}

void Print(const char* label, const Recorder::Interval& in, double seconds) {
  std::string errors;
  for (const auto& [what, n] : in.errors) absl::StrAppend(&errors, " ", what, "=", n);
  std::printf("%-8s %8.0f req/s %10.0f events/s  p50 %6.2f ms  p99 %6.2f ms  p99.9 %6.2f ms%s\n",
              label, static_cast<double>(in.latencies.size()) / seconds,
              static_cast<double>(in.events) / seconds, Percentile(in.latencies, 0.50),
              Percentile(in.latencies, 0.99), Percentile(in.latencies, 0.999),
              errors.empty() ? "" : absl::StrCat("  errors:", errors).c_str());
  std::fflush(stdout);
}

// `text` as a JSON string literal.
void AppendJsonString(std::string& out, std::string_view text) {
  out += '"';
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      absl::StrAppend(&out, "\\u00", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      out += c;
    }
  }
  out += '"';
}

// One client's requests: generated records, `batch` at a time.
class RequestSource {
 public:
  RequestSource(uint64_t seed, int batch)
      : batch_(batch),
        gen_({.seed = seed,
              .identities = absl::GetFlag(FLAGS_identities),
              .events = INT64_MAX,
              .events_per_second = absl::GetFlag(FLAGS_events_per_second)}) {}

  v1::EvaluateRequest Next() {
    v1::EvaluateRequest request;
    for (int i = 0; i < batch_; ++i) {
      gen_.Next(line_);
      request.add_events()->set_raw_json(line_);
    }
    return request;
  }

  // The same as an HTTP/JSON body.
  std::string NextJson() {
    std::string body = "{\"events\":[";
    for (int i = 0; i < batch_; ++i) {
      gen_.Next(line_);
      absl::StrAppend(&body, i ? "," : "", "{\"rawJson\":");
      AppendJsonString(body, line_);
      body += "}";
    }
    body += "]}";
    return body;
  }

 private:
  const int batch_;
  WorkloadGenerator gen_;
  std::string line_;
};

// When the client's next request is due: now (closed loop) or on its schedule.
class Pacer {
 public:
  Pacer(double per_second, int client, int clients) : start_(Clock::now()) {
    if (per_second > 0) {
      interval_ = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(1.0 / per_second));
      // Clients start staggered over one interval.
      start_ += interval_ * client / std::max(1, clients);
    }
  }
  // Waits for the next slot; returns the time latency counts from.
  Clock::time_point Wait() {
    if (interval_ == Clock::duration::zero()) return Clock::now();
    const Clock::time_point due = start_ + interval_ * sent_++;
    std::this_thread::sleep_until(due);
    return due;
  }

 private:
  Clock::time_point start_;
  Clock::duration interval_ = Clock::duration::zero();
  int64_t sent_ = 0;
};

// What every client has: its workload and its schedule.
struct ClientRun {
  explicit ClientRun(int client)
      : source(absl::GetFlag(FLAGS_seed) + static_cast<uint64_t>(client),
               absl::GetFlag(FLAGS_batch)),
        pacer(absl::GetFlag(FLAGS_rate) / absl::GetFlag(FLAGS_clients), client,
              absl::GetFlag(FLAGS_clients)) {}
  RequestSource source;
  Pacer pacer;
};

// A gRPC client on its own connection (every Client has one).
absl::StatusOr<std::unique_ptr<Client>> Connect() {
  return Client::Connect({.target = absl::GetFlag(FLAGS_server),
                          .timeout = absl::Seconds(10),
                          .token = absl::GetFlag(FLAGS_token)});
}

void RunUnary(int client, Clock::time_point end, Recorder& recorder) {
  auto connected = Connect();
  if (!connected.ok()) return recorder.Error(std::string(connected.status().message()));
  ClientRun run(client);
  while (Clock::now() < end) {
    v1::EvaluateRequest request = run.source.Next();
    const Clock::time_point from = run.pacer.Wait();
    absl::StatusOr<v1::EvaluateResponse> response = (*connected)->Evaluate(request);
    if (response.ok()) {
      recorder.Ok(Clock::now() - from, response->verdicts_size());
    } else {
      recorder.Error(absl::StatusCodeToString(response.status().code()));
    }
  }
}

void RunStream(int client, Clock::time_point end, Recorder& recorder) {
  auto connected = Connect();
  if (!connected.ok()) return recorder.Error(std::string(connected.status().message()));
  ClientRun run(client);
  std::deque<Clock::time_point> sent;  // in the order answered
  EvaluatePipeline pipeline(**connected, {.streams = 1, .window = absl::GetFlag(FLAGS_window)},
                            [&](const v1::EvaluateResponse& response) {
                              recorder.Ok(Clock::now() - sent.front(), response.verdicts_size());
                              sent.pop_front();
                            });
  absl::Status status;
  while (Clock::now() < end && status.ok()) {
    v1::EvaluateRequest request = run.source.Next();
    sent.push_back(run.pacer.Wait());
    status = pipeline.Send(request);
  }
  if (status.ok()) status = pipeline.Finish();
  if (!status.ok()) recorder.Error(absl::StatusCodeToString(status.code()));
}

void RunHttp(int client, Clock::time_point end, Recorder& recorder) {
  const std::vector<std::string> host_port =
      absl::StrSplit(absl::GetFlag(FLAGS_http), absl::MaxSplits(':', 1));
  httplib::Client http(host_port[0], host_port.size() > 1 ? std::stoi(host_port[1]) : 80);
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);
  http.set_read_timeout(10, 0);
  httplib::Headers headers;
  if (!absl::GetFlag(FLAGS_token).empty()) {
    headers.emplace("Authorization", "Bearer " + absl::GetFlag(FLAGS_token));
  }
  const int batch = absl::GetFlag(FLAGS_batch);
  ClientRun run(client);
  while (Clock::now() < end) {
    const std::string body = run.source.NextJson();
    const Clock::time_point from = run.pacer.Wait();
    httplib::Result result = http.Post("/v1/evaluate", headers, body, "application/json");
    if (result && result->status == 200) {
      recorder.Ok(Clock::now() - from, batch);
    } else {
      recorder.Error(result ? absl::StrCat("http_", result->status)
                            : absl::StrCat("http_", httplib::to_string(result.error())));
    }
  }
}

int Main() {
  const std::string mode = absl::GetFlag(FLAGS_mode);
  auto run = mode == "unary"    ? RunUnary
             : mode == "stream" ? RunStream
             : mode == "http"   ? RunHttp
                                : nullptr;
  const int clients = absl::GetFlag(FLAGS_clients);
  if (run == nullptr || clients < 1 || absl::GetFlag(FLAGS_batch) < 1 ||
      absl::GetFlag(FLAGS_duration) < 1 || absl::GetFlag(FLAGS_report) < 1) {
    std::fprintf(stderr,
                 "trailsentry-load: --mode unary|stream|http, and --clients, --batch, "
                 "--duration, --report at least 1\n");
    return 2;
  }
  std::printf("# %s, %d clients, %d events per request, %s, %d s\n", mode.c_str(), clients,
              absl::GetFlag(FLAGS_batch),
              absl::GetFlag(FLAGS_rate) > 0
                  ? absl::StrCat(absl::GetFlag(FLAGS_rate), " requests/s scheduled").c_str()
                  : "as fast as answered",
              absl::GetFlag(FLAGS_duration));
  Recorder recorder;
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + std::chrono::seconds(absl::GetFlag(FLAGS_duration));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] { run(c, end, recorder); });
  }
  // Per interval, then the whole run.
  Recorder::Interval total;
  Clock::time_point last = start;
  while (Clock::now() < end) {
    std::this_thread::sleep_until(
        std::min(end, last + std::chrono::seconds(absl::GetFlag(FLAGS_report))));
    const Clock::time_point now = Clock::now();
    Recorder::Interval in = recorder.Take();
    const auto elapsed = std::chrono::duration_cast<std::chrono::seconds>(now - start).count();
    Print(absl::StrCat(elapsed, "s").c_str(), in,
          std::chrono::duration<double>(now - last).count());
    total.latencies.insert(total.latencies.end(), in.latencies.begin(), in.latencies.end());
    total.events += in.events;
    for (const auto& [what, n] : in.errors) total.errors[what] += n;
    last = now;
  }
  for (std::thread& t : threads) t.join();
  Recorder::Interval tail = recorder.Take();  // answers that came after the end
  total.latencies.insert(total.latencies.end(), tail.latencies.begin(), tail.latencies.end());
  total.events += tail.events;
  for (const auto& [what, n] : tail.errors) total.errors[what] += n;
  std::sort(total.latencies.begin(), total.latencies.end());
  Print("total", total, std::chrono::duration<double>(Clock::now() - start).count());
  std::printf("answered %zu requests, %lld events\n", total.latencies.size(),
              static_cast<long long>(total.events));
  return total.latencies.empty() ? 1 : 0;
}

}  // namespace
}  // namespace trailsentry::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "trailsentry-load [--mode unary|stream|http] [--server H:P] [--http H:P] [--clients N]\n"
      "  [--batch N] [--window N] [--rate R] [--duration S] [--report S]");
  absl::ParseCommandLine(argc, argv);
  return trailsentry::bench::Main();
}
