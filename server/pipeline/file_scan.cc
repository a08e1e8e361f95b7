#include "server/pipeline/file_scan.h"

#include <algorithm>
#include <deque>
#include <memory>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/engine/mutex.h"
#include "server/engine/record_reader.h"
#include "server/pipeline/drift_gate.h"
#include "server/pipeline/evaluation_batch.h"

namespace trailsentry::pipeline {
namespace {

using engine::Mutex;
using engine::MutexLock;

// What one unit of input gave: its counts, rejections (by index in the unit)
// and alert changes, reported in input order.
struct Unit {
  uint64_t order = 0;  // position in the input
  size_t file = 0;
  engine::InputUnit input;
  int lane = -1;
  size_t records = 0;  // read from the unit
  size_t index = 0;    // of the record being added
  uint64_t accepted = 0;
  std::vector<std::pair<size_t, engine::RecordError>> rejections;
  std::vector<engine::AlertChange> changes;
  absl::Status read;  // why the unit could not be read whole
};

// A thread's batch runs over many units (state is committed every
// kCommitEvents events, so per-identity writes coalesce as in one long batch);
// its verdicts go to the unit being read.
class Worker : public VerdictSink {
 public:
  void Rejected(const engine::RecordError& error) override {
    unit->rejections.emplace_back(unit->index, error);
  }
  void Evaluated(const engine::Event&, const engine::Verdict&) override { ++unit->accepted; }

  engine::RecordReader reader;
  std::unique_ptr<EvaluationBatch> batch;
  Unit* unit = nullptr;
};

// Events per commit of a worker's batch.
constexpr uint64_t kCommitEvents = 100000;

// The state one Run shares between its threads.
class ScanRun {
 public:
  ScanRun(engine::Engine& engine, storage::Database* db, const ScanOptions& options, int threads,
          const std::vector<std::string>& files, ScanObserver& observer)
      : engine_(engine),
        db_(db),
        options_(options),
        threads_(threads),
        files_(files),
        observer_(observer),
        gate_(DriftBound(engine.config()), 2 * threads + 1) {}

  absl::StatusOr<ScanTotals> Go() {
    // Out of memory or threads (a resource limit), the scan stops with an error
    // and every thread it started is joined: never a crash, never alerts judged
    // on half-evaluated input.
    std::vector<std::thread> threads;
    try {
      while (static_cast<int>(threads.size()) < (threads_ > 1 ? threads_ : 0)) {
        threads.emplace_back([this] { Work(); });
      }
      Split();
    } catch (const std::exception&) {
      Fail(out_of_resources_);
    }
    if (threads_ <= 1) Commit(inline_worker_);
    {
      MutexLock lock(&mu_);
      done_ = true;
      mu_.NotifyAll();
    }
    for (std::thread& t : threads) t.join();
    MutexLock lock(&report_mu_);
    if (!storage_.ok()) return storage_;
    totals_.files = files_.size();
    totals_.gate_waits = gate_.waits();
    totals_.threads = threads_;
    totals_.alerts.reserve(alerts_.size());
    for (auto& [id, change] : alerts_) totals_.alerts.push_back(std::move(change));
    return std::move(totals_);
  }

 private:
  // Splits the files, in order, into units for the workers.
  void Split() {
    engine::RecordReader splitter;
    for (size_t f = 0; f < files_.size() && !Failed(); ++f) {
      absl::Status st = splitter.SplitFile(
          files_[f], options_.unit_bytes, [this] { return TakeBuffer(); },
          [&](engine::InputUnit& input) {
            auto unit = std::make_unique<Unit>();
            unit->file = f;
            unit->input = std::move(input);
            return Enqueue(std::move(unit));
          });
      if (!st.ok() && !Failed()) {
        auto unit = std::make_unique<Unit>();
        unit->file = f;
        unit->read = st;
        (void)Enqueue(std::move(unit));
      }
    }
  }

  static int64_t DriftBound(const engine::Config& config) {
    const absl::Duration d = std::min(config.max_lateness, config.unusual_ip.settle) / 2;
    return absl::ToInt64Milliseconds(d);
  }

  bool Failed() {
    MutexLock lock(&report_mu_);
    return !storage_.ok();
  }
  void Fail(const absl::Status& status) {
    MutexLock lock(&report_mu_);
    if (storage_.ok()) storage_ = status;
  }

  engine::UnitBuffer TakeBuffer() {
    MutexLock lock(&mu_);
    if (buffers_.empty()) return engine::UnitBuffer();
    engine::UnitBuffer b = std::move(buffers_.back());
    buffers_.pop_back();
    return b;
  }

  // Units get their lane here, in input order; with one thread the splitting
  // thread reads them itself.
  absl::Status Enqueue(std::unique_ptr<Unit> unit) {
    if (Failed()) return absl::CancelledError("storage failed");
    unit->lane = gate_.Open();
    unit->order = next_order_++;
    if (threads_ <= 1) {
      Process(*unit, inline_worker_);
      return absl::OkStatus();
    }
    MutexLock lock(&mu_);
    queue_.push_back(std::move(unit));
    mu_.NotifyAll();
    return absl::OkStatus();
  }

  engine::EventTime Now() const {
    return options_.now != 0 ? options_.now : absl::ToUnixMillis(absl::Now());
  }

  void Work() {
    Worker worker;
    while (true) {
      std::unique_ptr<Unit> unit;
      {
        MutexLock lock(&mu_);
        mu_.Await([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return done_ || !queue_.empty(); });
        if (queue_.empty()) break;
        unit = std::move(queue_.front());
        queue_.pop_front();
      }
      Process(*unit, worker);
    }
    Commit(worker);
  }

  void Process(Unit& unit, Worker& worker) {
    try {
      Evaluate(unit, worker);
    } catch (const std::exception&) {
      // The unit still takes its turn below, so later units are not held up.
      Fail(out_of_resources_);
      unit.read = absl::CancelledError();  // no message: allocates nothing
      worker.unit = nullptr;
      worker.batch.reset();  // uncommitted: nothing of it stands
    }
    gate_.Finish(unit.lane);
    Report(unit);
    gate_.Release(unit.lane);
    try {
      MutexLock lock(&mu_);
      buffers_.push_back(std::move(unit.input.bytes));
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch)
      // A spare buffer fewer: the splitter allocates another.
    }
    if (worker.batch && worker.batch->evaluated() >= kCommitEvents) Commit(worker);
  }

  void Evaluate(Unit& unit, Worker& worker) {
    if (unit.read.ok() && !Failed()) {
      if (!worker.batch) {
        worker.batch =
            std::make_unique<EvaluationBatch>(engine_, db_, options_.tenant, worker, Now());
      }
      EvaluationBatch& batch = *worker.batch;
      batch.SetGate(&gate_, unit.lane);
      worker.unit = &unit;
      unit.read =
          worker.reader.ReadUnit(unit.input, [&](size_t index, const engine::RecordOrError& r) {
            unit.records = index + 1;
            unit.index = index;
            if (r.error != nullptr) {
              batch.Reject(*r.error);
            } else {
              batch.AddRecord(r.record);
            }
          });
      worker.unit = nullptr;
      unit.changes = batch.TakeChanges();
      if (!unit.read.ok()) {
        unit.read = absl::Status(unit.read.code(),
                                 absl::StrCat(files_[unit.file], ": ", unit.read.message()));
      }
    }
  }

  void Commit(Worker& worker) {
    if (!worker.batch) return;
    if (!Failed()) {
      try {
        if (absl::Status s = worker.batch->Commit(); !s.ok()) Fail(s);
      } catch (const std::exception&) {
        Fail(out_of_resources_);
      }
    }
    worker.batch.reset();  // uncommitted after a failure: nothing of it stands
  }

  // Reports a unit once every earlier unit has been reported, so rejections come
  // in input order with their index in the file.
  void Report(Unit& unit) {
    MutexLock lock(&report_mu_);
    report_mu_.Await(
        [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(report_mu_) { return reported_ == unit.order; });
    try {
      ReportLocked(unit);
    } catch (const std::exception&) {
      if (storage_.ok()) storage_ = out_of_resources_;
    }
    // Whatever happened, the next unit's turn comes.
    ++reported_;
    report_mu_.NotifyAll();
  }

  void ReportLocked(Unit& unit) ABSL_EXCLUSIVE_LOCKS_REQUIRED(report_mu_) {
    if (unit.file != file_) {
      file_ = unit.file;
      file_base_ = 0;
    }
    const std::string& path = files_[unit.file];
    for (const auto& [index, error] : unit.rejections) {
      observer_.Rejected(path, file_base_ + index, error);
    }
    if (!unit.read.ok() && !absl::IsCancelled(unit.read)) {
      ++totals_.unreadable_files;
      observer_.Unreadable(path, unit.read);
    }
    file_base_ += unit.records;
    totals_.events += unit.records;
    totals_.accepted += unit.accepted;
    totals_.rejected += unit.rejections.size();
    for (engine::AlertChange& c : unit.changes) {
      auto [it, inserted] = alerts_.try_emplace(c.alert.alert_id);
      const bool opened = c.is_new || (!inserted && it->second.is_new);
      if (inserted || it->second.sequence < c.sequence) it->second = std::move(c);
      it->second.is_new = opened;
    }
    observer_.Progress(totals_.events);
  }

  engine::Engine& engine_;
  storage::Database* const db_;
  const ScanOptions& options_;
  const int threads_;
  const std::vector<std::string>& files_;
  ScanObserver& observer_;
  DriftGate gate_;
  Worker inline_worker_;     // with one thread, the splitting thread reads units itself
  uint64_t next_order_ = 0;  // the splitting thread's

  Mutex mu_;  // the queue of units and the spare buffers
  std::deque<std::unique_ptr<Unit>> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<engine::UnitBuffer> buffers_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;

  // Made up front: when memory has run out, building a message may throw too
  // (copying a status allocates nothing).
  const absl::Status out_of_resources_ = absl::ResourceExhaustedError(
      "scan stopped: out of memory or threads (a resource limit?); try fewer --threads");

  Mutex report_mu_;
  uint64_t reported_ ABSL_GUARDED_BY(report_mu_) = 0;
  size_t file_ ABSL_GUARDED_BY(report_mu_) = SIZE_MAX;
  uint64_t file_base_ ABSL_GUARDED_BY(report_mu_) = 0;
  ScanTotals totals_ ABSL_GUARDED_BY(report_mu_);
  absl::flat_hash_map<std::string, engine::AlertChange> alerts_ ABSL_GUARDED_BY(report_mu_);
  absl::Status storage_ ABSL_GUARDED_BY(report_mu_);
};

}  // namespace

FileScan::FileScan(engine::Engine& engine, storage::Database* db, ScanOptions options)
    : engine_(engine), db_(db), options_(std::move(options)) {}

absl::StatusOr<ScanTotals> FileScan::Run(const std::vector<std::string>& files,
                                         ScanObserver& observer) {
  int threads = options_.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ScanRun run(engine_, db_, options_, threads, files, observer);
  return run.Go();
}

}  // namespace trailsentry::pipeline
