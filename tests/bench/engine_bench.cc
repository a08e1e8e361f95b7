// Google Benchmarks of the hot path: parse -> rules, per event.
//
//   build/tests/bench/engine_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <string>
#include <vector>

#include "server/engine/engine.h"
#include "server/engine/record_parser.h"
#include "tests/bench/workload_generator.h"

namespace trailsentry::bench {
namespace {

constexpr int64_t kRecords = 200000;

// The workload as one padded buffer of JSON lines, with each record's extent.
struct Workload {
  std::string text;
  std::vector<std::pair<size_t, size_t>> records;
};

const Workload& GetWorkload() {
  static const Workload* workload = [] {
    auto* w = new Workload;
    WorkloadGenerator gen({.seed = 7, .identities = 5000, .events = kRecords});
    std::string line;
    while (gen.Next(line)) {
      w->records.emplace_back(w->text.size(), line.size());
      w->text += line;
      w->text.push_back('\n');
    }
    w->text.reserve(w->text.size() + simdjson::SIMDJSON_PADDING);
    return w;
  }();
  return *workload;
}

void SetCounters(benchmark::State& state, const Workload& w) {
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(w.text.size() / w.records.size()));
}

// The ceiling: simdjson's DOM parse of each record, nothing else.
void BM_SimdjsonParse(benchmark::State& state) {
  const Workload& w = GetWorkload();
  simdjson::dom::parser parser;
  size_t i = 0;
  for (auto _ : state) {
    const auto [off, len] = w.records[i];
    simdjson::dom::element doc;
    benchmark::DoNotOptimize(parser.parse(w.text.data() + off, len, false).get(doc));
    if (++i == w.records.size()) i = 0;
  }
  SetCounters(state, w);
}
BENCHMARK(BM_SimdjsonParse);

// Parse + extraction of the spec §1 fields.
void BM_ParseRecord(benchmark::State& state) {
  const Workload& w = GetWorkload();
  simdjson::dom::parser parser;
  engine::Event ev;
  size_t i = 0;
  for (auto _ : state) {
    const auto [off, len] = w.records[i];
    simdjson::dom::element doc = parser.parse(w.text.data() + off, len, false).value_unsafe();
    benchmark::DoNotOptimize(engine::ParseRecord(doc, ev));
    if (++i == w.records.size()) i = 0;
  }
  SetCounters(state, w);
}
BENCHMARK(BM_ParseRecord);

// The whole hot path: parse, classify, burst windows. Each pass over the
// workload uses a fresh engine so events are never duplicates of a former pass.
void BM_ParseAndEvaluate(benchmark::State& state) {
  const Workload& w = GetWorkload();
  simdjson::dom::parser parser;
  engine::Config config;
  std::unique_ptr<engine::Engine> eng = engine::Engine::Create(config).value();
  std::vector<engine::AlertChange> changes;
  engine::Event ev;
  size_t i = 0;
  for (auto _ : state) {
    const auto [off, len] = w.records[i];
    simdjson::dom::element doc = parser.parse(w.text.data() + off, len, false).value_unsafe();
    if (!engine::ParseRecord(doc, ev))
      benchmark::DoNotOptimize(eng->Evaluate("default", ev, changes));
    changes.clear();
    if (++i == w.records.size()) {
      i = 0;
      state.PauseTiming();
      eng = engine::Engine::Create(config).value();
      state.ResumeTiming();
    }
  }
  SetCounters(state, w);
}
BENCHMARK(BM_ParseAndEvaluate);

// Evaluation alone, on pre-parsed events (views into a kept DOM per record are
// not possible, so this re-parses outside the timed region in batches).
void BM_EvaluateOnly(benchmark::State& state) {
  const Workload& w = GetWorkload();
  constexpr size_t kBatch = 1024;
  std::vector<simdjson::dom::parser> parsers(kBatch);
  std::vector<engine::Event> events(kBatch);
  engine::Config config;
  std::unique_ptr<engine::Engine> eng = engine::Engine::Create(config).value();
  std::vector<engine::AlertChange> changes;
  size_t next = 0, in_batch = kBatch;
  for (auto _ : state) {
    if (in_batch == kBatch) {
      state.PauseTiming();
      for (size_t k = 0; k < kBatch; ++k) {
        if (next == w.records.size()) {
          next = 0;
          eng = engine::Engine::Create(config).value();
        }
        const auto [off, len] = w.records[next++];
        simdjson::dom::element doc =
            parsers[k].parse(w.text.data() + off, len, false).value_unsafe();
        (void)engine::ParseRecord(doc, events[k]);
      }
      in_batch = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(eng->Evaluate("default", events[in_batch++], changes));
    changes.clear();
  }
  SetCounters(state, w);
}
BENCHMARK(BM_EvaluateOnly);

}  // namespace
}  // namespace trailsentry::bench

BENCHMARK_MAIN();
