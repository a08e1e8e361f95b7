// EngineHarness: feeds JSON records through the evaluation pipeline (the one
// the server and scan use) into a real Engine and keeps every alert in its final
// state, for the rule tests.
//
//   EngineHarness h;                       // spec defaults
//   engine::Verdict v = h.Feed(Record().AtSecond(1).Action("ListUsers").Json());
//   EXPECT_EQ(h.OpenAlerts().size(), 1);
#ifndef TRAILSENTRY_TESTS_ENGINE_ENGINE_HARNESS_H_
#define TRAILSENTRY_TESTS_ENGINE_ENGINE_HARNESS_H_

#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/engine/engine.h"
#include "server/pipeline/evaluation_batch.h"
#include "storage/database.h"
#include "tests/testing/temp_dir.h"

namespace trailsentry::testing {

class EngineHarness {
 public:
  explicit EngineHarness(engine::Config config = {}, std::string tenant = "default")
      : config_(config),
        engine_(engine::Engine::Create(config).value()),
        tenant_(std::move(tenant)) {}

  // With state in RocksDB in `dir` (a path of "" keeps it in memory); Restart()
  // drops the engine and database and opens them again, as a new process would.
  EngineHarness(engine::Config config, const TempDir& dir)
      : config_(config), dir_(dir.path() + "/data") {
    Restart();
  }
  struct Store {
    std::string path;  // "": an in-memory database
    // As the server commits: a journal, applied every `apply_every`.
    bool write_behind = false;
    absl::Duration apply_every = absl::Hours(1);
  };
  EngineHarness(engine::Config config, Store store)
      : config_(config), dir_(std::move(store.path)), store_(store) {
    Restart();
  }

  void Restart() {
    engine_.reset();
    db_.reset();
    db_ = storage::Database::Open({.path = dir_,
                                   .config = &config_,
                                   .write_behind = store_.write_behind,
                                   .apply_every = store_.apply_every})
              .value();
    engine_ = engine::Engine::Create(config_, db_.get()).value();
  }
  // As if the process were killed: goes on with a copy of the data directory
  // taken while it is open (what a crash leaves on disk), at `path`.
  void CrashRestart(const std::string& path) {
    std::filesystem::copy(dir_, path, std::filesystem::copy_options::recursive);
    dir_ = path;
    Restart();
  }
  storage::Database* db() { return db_.get(); }

  // One record in a batch of its own (committed before it returns).
  engine::Verdict Feed(const std::string& json) {
    Sink sink(*this);
    {
      pipeline::EvaluationBatch batch(*engine_, db_.get(), tenant_, sink, kNow);
      batch.AddJson(json);
      Take(batch.changes());
      EXPECT_TRUE(batch.Commit().ok());
    }
    return sink.last;
  }

  // Records in one batch, as a request or a stretch of a scan.
  void FeedBatch(const std::vector<std::string>& records) {
    Sink sink(*this);
    pipeline::EvaluationBatch batch(*engine_, db_.get(), tenant_, sink, kNow);
    for (const std::string& r : records) batch.AddJson(r);
    Take(batch.changes());
    EXPECT_TRUE(batch.Commit().ok());
  }

  void FeedAll(const std::vector<std::string>& records) {
    for (const std::string& r : records) Feed(r);
  }

  // Open alerts of one rule.
  std::vector<engine::Alert> OpenAlertsOf(engine::Rule rule) const {
    std::vector<engine::Alert> out;
    for (const auto& [id, a] : alerts_) {
      if (a.superseded_by.empty() && a.rule == rule) out.push_back(a);
    }
    return out;
  }

  // Alerts in their final state, not superseded, by alert id.
  std::map<std::string, engine::Alert> OpenAlerts() const {
    std::map<std::string, engine::Alert> open;
    for (const auto& [id, a] : alerts_) {
      if (a.superseded_by.empty()) open.emplace(id, a);
    }
    return open;
  }
  const std::map<std::string, engine::Alert>& AllAlerts() const { return alerts_; }
  std::vector<engine::AlertChange> TakeChanges() { return std::exchange(last_changes_, {}); }
  engine::Engine& engine() { return *engine_; }
  const std::string& last_identity() const { return identity_; }

 private:
  // Far in the future: rule tests use any event times.
  static constexpr engine::EventTime kNow = INT64_MAX / 2;

  // Every record the tests feed must be accepted.
  struct Sink : pipeline::VerdictSink {
    explicit Sink(EngineHarness& h) : harness(h) {}
    void Rejected(const engine::RecordError& err) override {
      ADD_FAILURE() << err.field << ": " << err.reason;
      last = {};
    }
    void Evaluated(const engine::Event&, const engine::Verdict& v) override {
      EXPECT_TRUE(v.storage.ok()) << v.storage;
      harness.identity_ = std::string(v.identity);
      last = v;
      last.identity = {};
    }
    EngineHarness& harness;
    engine::Verdict last;
  };

  void Take(const std::vector<engine::AlertChange>& changes) {
    for (const engine::AlertChange& c : changes) {
      last_changes_.push_back(c);
      alerts_[c.alert.alert_id] = c.alert;
    }
  }

  engine::Config config_;
  std::string dir_;
  Store store_;
  std::unique_ptr<storage::Database> db_;
  std::unique_ptr<engine::Engine> engine_;
  std::string tenant_ = "default";
  std::map<std::string, engine::Alert> alerts_;
  std::vector<engine::AlertChange> last_changes_;
  std::string identity_;
};

}  // namespace trailsentry::testing

#endif  // TRAILSENTRY_TESTS_ENGINE_ENGINE_HARNESS_H_
