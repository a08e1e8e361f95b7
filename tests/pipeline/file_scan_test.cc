// FileScan: every thread count gives the alerts of one thread, on dense and on
// sparse multi-day workloads, persisted and in memory; rejections come in file
// order with their index.
#include "server/pipeline/file_scan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/engine/alert_proto.h"
#include "tests/bench/workload_generator.h"
#include "tests/testing/temp_dir.h"

namespace trailsentry::pipeline {
namespace {

struct Workload {
  const char* name;
  bench::WorkloadGenerator::Options options;
};

// Every record that was rejected, as the observer saw it.
class Recorder : public ScanObserver {
 public:
  void Rejected(const std::string& file, size_t index, const engine::RecordError& err) override {
    rejected.push_back(file + " " + std::to_string(index) + " " + err.field);
  }
  void Unreadable(const std::string& file, const absl::Status& status) override {
    unreadable.push_back(file + ": " + std::string(status.message()));
  }
  std::vector<std::string> rejected, unreadable;
};

std::string WriteWorkload(const testing::TempDir& dir, const Workload& w) {
  const std::string path = dir.path() + "/" + w.name + ".jsonl";
  std::ofstream out(path);
  bench::WorkloadGenerator gen(w.options);
  std::string line;
  while (gen.Next(line)) out << line << '\n';
  return path;
}

// Each open alert, serialized whole, by episode: (rule, identity, network,
// window start). An alert's id and update count record the order its events
// came in (spec §2: the id is fixed when the alert opens), so they are left out;
// everything else must be equal.
std::map<std::string, std::string> Scan(const std::string& file, int threads, bool persisted,
                                        const testing::TempDir& dir, ScanTotals* totals_out) {
  engine::Config config;
  const std::string data = persisted ? dir.path() + "/data-" + std::to_string(threads) : "";
  auto db = storage::Database::Open({.path = data, .config = &config, .wal = false}).value();
  auto engine = engine::Engine::Create(config, db.get()).value();
  Recorder recorder;
  // Small units: hundreds of them, so threads interleave all through the file.
  FileScan scan(*engine, db.get(), {.threads = threads, .unit_bytes = 64 << 10});
  absl::StatusOr<ScanTotals> totals = scan.Run({file}, recorder);
  EXPECT_TRUE(totals.ok()) << totals.status();
  EXPECT_TRUE(recorder.rejected.empty());
  std::map<std::string, std::string> alerts;
  for (const engine::AlertChange& change : totals->alerts) {
    const engine::Alert& a = change.alert;
    if (!a.superseded_by.empty()) continue;
    v1::Alert proto;
    engine::ToProto(a, &proto);
    proto.clear_alert_id();
    proto.clear_update_count();
    alerts[absl::StrCat(proto.rule_id(), " ", proto.identity(), " ", proto.network(), " ",
                        proto.window_start().seconds())] = proto.DebugString();
  }
  *totals_out = *std::move(totals);
  return alerts;
}

class FileScanThreads : public ::testing::TestWithParam<Workload> {};

TEST_P(FileScanThreads, EveryThreadCountGivesTheAlertsOfOneThread) {
  testing::TempDir dir;
  const std::string file = WriteWorkload(dir, GetParam());
  for (bool persisted : {true, false}) {
    ScanTotals one;
    const std::map<std::string, std::string> expected = Scan(file, 1, persisted, dir, &one);
    int burst = 0, unusual = 0;
    for (const engine::AlertChange& change : one.alerts) {
      const engine::Alert& a = change.alert;
      (a.rule == engine::Rule::kBurst ? burst : unusual) += a.superseded_by.empty();
    }
    // The workload must exercise both rules, or the comparison proves little.
    EXPECT_GT(burst, 5) << GetParam().name;
    EXPECT_GT(unusual, 0) << GetParam().name;
    for (int threads : {2, 4}) {
      ScanTotals many;
      const std::map<std::string, std::string> got = Scan(file, threads, persisted, dir, &many);
      EXPECT_EQ(many.events, one.events);
      EXPECT_EQ(many.accepted, one.accepted);
      EXPECT_EQ(got.size(), expected.size()) << threads << " threads, persisted " << persisted;
      for (const auto& [id, alert] : expected) {
        auto it = got.find(id);
        if (it == got.end()) {
          ADD_FAILURE() << threads << " threads lost " << alert;
        } else {
          EXPECT_EQ(it->second, alert) << threads << " threads";
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Workloads, FileScanThreads,
                         ::testing::Values(
                             // Dense: 120k events over 33 h (1 event/s), 400 identities: baselines
                             // mature on the first day and the second day's recon bursts come from
                             // unusual addresses.
                             Workload{"dense",
                                      {.seed = 7,
                                       .identities = 400,
                                       .accounts = 5,
                                       .events = 120000,
                                       .events_per_second = 1,
                                       .burst_probability = 0.001}},
                             // Sparse: 40k events over 4.6 days, gaps of minutes between an
                             // identity's events, units spanning hours of event time.
                             Workload{"sparse",
                                      {.seed = 11,
                                       .identities = 150,
                                       .accounts = 3,
                                       .events = 40000,
                                       .events_per_second = 0.1,
                                       .burst_probability = 0.002}}),
                         [](const ::testing::TestParamInfo<Workload>& info) {
                           return std::string(info.param.name);
                         });

TEST(FileScan, RejectionsComeInFileOrderWithTheirIndex) {
  testing::TempDir dir;
  std::string text;
  bench::WorkloadGenerator gen({.identities = 50, .events = 3000});
  std::string line;
  std::vector<std::string> expected;
  for (int i = 0; gen.Next(line); ++i) {
    if (i % 97 == 5) {
      text += "{\"eventVersion\":\"1.08\"}\n";  // no eventName
      expected.push_back(dir.path() + "/f.jsonl " + std::to_string(i) + " eventName");
    } else {
      text += line + "\n";
    }
  }
  const std::string file = dir.Write("f.jsonl", text);
  engine::Config config;
  auto db = storage::Database::Open({.path = "", .config = &config, .wal = false}).value();
  auto engine = engine::Engine::Create(config, db.get()).value();
  Recorder recorder;
  FileScan scan(*engine, db.get(), {.threads = 4, .unit_bytes = 8 << 10});
  absl::StatusOr<ScanTotals> totals = scan.Run({file, dir.path() + "/missing.jsonl"}, recorder);
  ASSERT_TRUE(totals.ok()) << totals.status();
  EXPECT_EQ(recorder.rejected, expected);
  EXPECT_EQ(totals->rejected, expected.size());
  EXPECT_EQ(totals->events, 3000u);
  ASSERT_EQ(recorder.unreadable.size(), 1u);
  EXPECT_EQ(totals->unreadable_files, 1u);
}

}  // namespace
}  // namespace trailsentry::pipeline
