// `trailsentry submit`: the same files, evaluated by a server.
//
// Files are read in units of whole records (RecordReader::SplitFile, so memory
// stays bounded whatever the input's size) and sent as JSON-lines payloads of
// `batch` records through an EvaluatePipeline. Each record goes on the stream
// of its account (read without a DOM), so each account's events reach the
// server in file order and the alerts, ids included, are those of `scan
// --threads 1`. By default (`--shard`) each account has its own stream carrying
// its account in the x-trailsentry-shard header, so a proxy in front of
// account-sharded replicas sends it to its replica, and a replica that fails
// fails only its accounts; at most concurrency × window requests are in
// flight. With --noshard, accounts are hashed onto `concurrency` streams.
// JSON lines go as they are (the server parses them, as `scan` would); records
// of other containers (S3 delivery files, arrays) are minified into lines first.
// Requests ask for the rejected events' verdicts only (VERDICT_DETAIL_REJECTED):
// accepted events are counted, rejected ones named by their index.
#include <simdjson.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "client/alert_collector.h"
#include "client/client.h"
#include "client/commands.h"
#include "client/evaluate_pipeline.h"
#include "client/input_files.h"
#include "server/engine/printable.h"
#include "server/engine/record_account.h"
#include "server/engine/record_reader.h"

namespace trailsentry::cli {
namespace {

// Bytes read from a file at a time; a unit holds whole lines.
constexpr size_t kUnitBytes = size_t{1} << 20;

// What a request in flight holds: its file and the index in that file of each
// of its lines.
struct SentRequest {
  size_t file = 0;
  std::vector<uint64_t> records;
};

// Records waiting for their request, over all accounts, at most (sharded: the
// largest account's are sent early past it).
constexpr size_t kMaxPendingBytes = size_t{32} << 20;

// Sends one file's records, each on its account's stream, in requests of
// `batch` records; notes each request sent in `sent`. Sharded, each account has
// its own stream (its shard key); else accounts are hashed onto the streams.
class FileSender {
 public:
  FileSender(EvaluatePipeline& pipeline, bool sharded, int batch, size_t file,
             std::deque<SentRequest>& sent)
      : pipeline_(pipeline),
        sharded_(sharded),
        batch_(batch),
        file_(file),
        sent_(sent),
        pending_(sharded ? 0 : static_cast<size_t>(pipeline.streams())) {}

  // Sends the file's records; the pipeline's error stops it (see send_error()).
  absl::Status Send(engine::RecordReader& reader, const std::string& path) {
    engine::UnitBuffer spare;
    absl::Status read = reader.SplitFile(
        path, kUnitBytes, [&] { return std::move(spare); },
        [&](engine::InputUnit& unit) {
          absl::Status st = unit.hint == engine::ContainerHint::kJsonLines
                                ? SendLines(unit.bytes)
                                : SendDocument(reader, unit);
          spare = std::move(unit.bytes);
          return st;
        });
    // What was read before a failure is still sent, as `scan` evaluates it.
    for (size_t s = 0; s < pending_.size() && send_error_.ok(); ++s) {
      if (absl::Status flushed = Flush(s); read.ok()) read = flushed;
    }
    return read;
  }

  const absl::Status& send_error() const { return send_error_; }

 private:
  struct Pending {
    std::string shard_key;  // sharded: the account
    std::string lines;      // JSON lines of the stream's next request
    std::vector<uint64_t> records;
  };

  // Whole JSON lines, as they are; blank lines are no records.
  absl::Status SendLines(const engine::UnitBuffer& unit) {
    const std::string_view text = unit.view();
    for (size_t pos = 0; pos < text.size();) {
      size_t end = text.find('\n', pos);
      end = end == std::string_view::npos ? text.size() : end + 1;
      const std::string_view line = text.substr(pos, end - pos);
      const size_t capacity = unit.capacity() - pos;
      pos = end;
      if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) continue;
      if (absl::Status st = Add(line, capacity); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  // One document (read whole): each record minified into a line.
  absl::Status SendDocument(engine::RecordReader& reader, const engine::InputUnit& unit) {
    absl::Status send;
    std::string line;
    absl::Status read = reader.ReadUnit(unit, [&](size_t, const engine::RecordOrError& r) {
      if (!send.ok()) return;
      // A document's records are all JSON (only JSON lines have bad records); a
      // bad one would still be sent, so the server names it in its place.
      line = r.error == nullptr ? simdjson::minify(r.record) : std::string("-");
      line.push_back('\n');
      line.reserve(line.size() + simdjson::SIMDJSON_PADDING);
      send = Add(line, line.capacity());
    });
    return send.ok() ? read : send;
  }

  // One record (a line ending in '\n', or the file's last line) onto the stream
  // of its account.
  absl::Status Add(std::string_view line, size_t capacity) {
    size_t stream = 0;
    if (sharded_) {
      const std::string_view account = accounts_.Read(line, capacity);
      auto [it, inserted] = by_account_.try_emplace(std::string(account), pending_.size());
      if (inserted) pending_.push_back(Pending{.shard_key = std::string(account)});
      stream = it->second;
    } else if (pending_.size() > 1) {
      stream = absl::HashOf(accounts_.Read(line, capacity)) % pending_.size();
    }
    Pending& p = pending_[stream];
    pending_bytes_ += line.size() + 1;
    p.lines.append(line);
    if (line.back() != '\n') p.lines.push_back('\n');
    p.records.push_back(next_record_++);
    if (static_cast<int>(p.records.size()) == batch_) return Flush(stream);
    if (pending_bytes_ <= kMaxPendingBytes) return absl::OkStatus();
    // Many accounts with few records each: the largest goes early.
    size_t largest = 0;
    for (size_t s = 1; s < pending_.size(); ++s) {
      if (pending_[s].lines.size() > pending_[largest].lines.size()) largest = s;
    }
    return Flush(largest);
  }

  absl::Status Flush(size_t stream) {
    Pending& p = pending_[stream];
    if (p.records.empty()) return absl::OkStatus();
    v1::EvaluateRequest request;
    pending_bytes_ -= std::min(pending_bytes_, p.lines.size());
    request.set_payload(std::move(p.lines));
    request.set_payload_format(v1::PAYLOAD_FORMAT_JSON_LINES);
    // Accepted events are counted, not answered one by one.
    request.set_verdict_detail(v1::VERDICT_DETAIL_REJECTED);
    p.lines.clear();
    // Noted before Send, which may deliver older responses.
    sent_.push_back(SentRequest{file_, std::move(p.records)});
    p.records.clear();
    send_error_ =
        sharded_ ? pipeline_.SendFor(request, p.shard_key) : pipeline_.Send(request, stream);
    return send_error_;
  }

  EvaluatePipeline& pipeline_;
  const bool sharded_;
  const int batch_;
  const size_t file_;
  std::deque<SentRequest>& sent_;
  std::vector<Pending> pending_;                         // by stream (sharded: by account)
  absl::flat_hash_map<std::string, size_t> by_account_;  // sharded: index in pending_
  size_t pending_bytes_ = 0;
  engine::RecordAccountReader accounts_;
  uint64_t next_record_ = 0;
  absl::Status send_error_;
};

}  // namespace

int RunSubmit(const SubmitOptions& options, const std::vector<std::string>& paths) {
  if (options.batch < 1 || options.concurrency < 1) {
    std::fprintf(stderr, "trailsentry submit: --batch and --concurrency must be at least 1\n");
    return kExitUsage;
  }
  absl::StatusOr<std::vector<std::string>> files = ExpandInputs(paths);
  if (!files.ok()) {
    std::fprintf(stderr, "trailsentry submit: %s\n", std::string(files.status().message()).c_str());
    return kExitUsage;
  }
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options.connection);
  if (!client.ok()) {
    std::fprintf(stderr, "trailsentry submit: %s\n",
                 std::string(client.status().message()).c_str());
    return kExitUsage;
  }

  RunSummary summary;
  AlertCollector alerts;
  std::deque<SentRequest> sent;  // requests in flight, oldest first
  // Sharded: accounts whose replica failed, with why (the first error each).
  std::map<std::string, std::string> failed_accounts;
  uint64_t unanswered_events = 0;
  EvaluatePipeline pipeline(
      **client,
      {.streams = options.concurrency,
       .window = options.window,
       .by_shard_key = options.shard,
       .max_unanswered = options.concurrency * options.window},
      [&](const v1::EvaluateResponse& response) {
        const SentRequest request = std::move(sent.front());
        sent.pop_front();
        const std::string& file = (*files)[request.file];
        // Only the rejected events' verdicts, each naming its event by index (a
        // server that predates VERDICT_DETAIL_REJECTED sends all, in order).
        const int events = response.accepted() + response.rejected();
        const bool every = response.verdicts_size() == events;
        // One event per line, unless a line held a container of several records.
        const bool per_line = static_cast<size_t>(events) == request.records.size();
        summary.events += static_cast<uint64_t>(events);
        summary.accepted += static_cast<uint64_t>(response.accepted());
        for (int i = 0; i < response.verdicts_size(); ++i) {
          const v1::Verdict& v = response.verdicts(i);
          if (v.status() != v1::Verdict::REJECTED) continue;
          const int index = every ? i : v.index();
          summary.Reject(per_line && index >= 0 && index < events
                             ? absl::StrCat(file, " record ", request.records[index])
                             : absl::StrCat(file, " records ", request.records.front(), "-",
                                            request.records.back(), " (event ", index, ")"),
                         v.reject_field(), v.reject_reason());
        }
        for (const v1::AlertChange& change : response.alerts()) {
          alerts.Add(change.alert(), change.kind() == v1::AlertChange::NEW);
        }
        summary.MaybeProgress(stderr);
      },
      [&](std::string_view account, const absl::Status& why) {
        unanswered_events += sent.front().records.size();
        sent.pop_front();
        failed_accounts.try_emplace(std::string(account), why.ToString());
      });

  engine::RecordReader reader;
  absl::Status failed;
  for (size_t f = 0; f < files->size() && failed.ok(); ++f) {
    const std::string& file = (*files)[f];
    ++summary.files;
    FileSender sender(pipeline, options.shard, options.batch, f, sent);
    absl::Status st = sender.Send(reader, file);
    if (!sender.send_error().ok()) {
      failed = sender.send_error();
    } else if (!st.ok()) {
      ++summary.unreadable_files;
      std::fprintf(stderr, "unreadable: %s\n", std::string(st.message()).c_str());
    }
  }
  if (failed.ok()) failed = pipeline.Finish();
  alerts.PrintJsonLines(stdout, options.ocsf);
  std::fflush(stdout);
  // Sharded: the accounts of a replica that failed are named; the others' went on.
  for (const auto& [account, why] : failed_accounts) {
    std::fprintf(stderr, "trailsentry submit: account %s not evaluated: %s\n",
                 engine::Printable(account).c_str(), why.c_str());
  }
  if (failed.ok() && !failed_accounts.empty()) {
    failed = absl::UnavailableError(absl::StrCat(unanswered_events, " events of ",
                                                 failed_accounts.size(),
                                                 " accounts were not evaluated (above)"));
  }
  if (!failed.ok()) {
    std::fprintf(stderr, "trailsentry submit: %s\n", std::string(failed.message()).c_str());
    summary.Print(stderr, "submit", alerts);
    return kExitFailed;
  }
  summary.Print(stderr, "submit", alerts);
  return summary.rejected > 0 || summary.unreadable_files > 0 ? kExitInputErrors : kExitOk;
}

}  // namespace trailsentry::cli
