#include "client/evaluate_pipeline.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "trailsentry/grpc_status.h"
#include "trailsentry/shard_key.h"

namespace trailsentry {

// One EvaluateStream. Only the sending thread writes and finishes it; a reader
// thread only reads responses into `received`.
struct EvaluatePipeline::Stream {
  std::string shard_key;  // sharded only
  absl::Status failed;    // sharded: the stream failed; nothing more is sent on it
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<v1::EvaluateRequest, v1::EvaluateResponse>> rw;
  std::thread reader;
  bool finished = false;
  int unanswered = 0;  // requests written, response not yet delivered

  std::mutex mu;
  std::condition_variable cv;
  std::deque<v1::EvaluateResponse> received;  // guarded by mu
  bool ended = false;                         // guarded by mu: Read returned false

  void Read() {
    while (true) {
      v1::EvaluateResponse response;
      const bool ok = rw->Read(&response);
      std::scoped_lock lock(mu);
      if (!ok) {
        ended = true;
        cv.notify_all();
        return;
      }
      received.push_back(std::move(response));
      cv.notify_all();
    }
  }

  // The stream's final status, once it has ended (or after cancelling it).
  grpc::Status Close() {
    if (reader.joinable()) reader.join();
    if (finished) return grpc::Status::OK;
    finished = true;
    return rw->Finish();
  }
};

EvaluatePipeline::EvaluatePipeline(Client& client, Options options, ResponseFn on_response,
                                   UnansweredFn on_unanswered)
    : client_(client),
      options_(options),
      on_response_(std::move(on_response)),
      on_unanswered_(std::move(on_unanswered)) {}

EvaluatePipeline::~EvaluatePipeline() { Cancel(); }

absl::Status EvaluatePipeline::Open() {
  if (options_.streams < 1 || options_.window < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a pipeline needs at least one stream and a "
                     "window of one request; got ",
                     options_.streams, " and ", options_.window));
  }
  for (int i = 0; i < options_.streams; ++i) OpenStream("");
  return absl::OkStatus();
}

EvaluatePipeline::Stream& EvaluatePipeline::OpenStream(std::string_view shard_key) {
  auto stream = std::make_unique<Stream>();
  stream->shard_key = std::string(shard_key);
  if (options_.by_shard_key) stream->context.AddMetadata(kShardHeader, stream->shard_key);
  stream->rw = client_.OpenEvaluateStream(stream->context);
  Stream* s = stream.get();
  stream->reader = std::thread([s] { s->Read(); });
  streams_.push_back(std::move(stream));
  return *s;
}

absl::Status EvaluatePipeline::Send(const v1::EvaluateRequest& request, size_t stream_index) {
  if (!failed_.ok()) return failed_;
  if (finished_) return absl::FailedPreconditionError("the pipeline is finished");
  if (options_.by_shard_key) {
    return absl::FailedPreconditionError("a sharded pipeline sends with SendFor");
  }
  if (streams_.empty()) {
    if (absl::Status s = Open(); !s.ok()) return Fail(s);
  }
  return Write(request, stream_index % streams_.size());
}

absl::Status EvaluatePipeline::SendFor(const v1::EvaluateRequest& request,
                                       std::string_view shard_key) {
  if (!failed_.ok()) return failed_;
  if (finished_) return absl::FailedPreconditionError("the pipeline is finished");
  if (!options_.by_shard_key) {
    return absl::FailedPreconditionError("SendFor needs a sharded pipeline (by_shard_key)");
  }
  if (options_.window < 1) return Fail(absl::InvalidArgumentError("window must be at least 1"));
  auto [it, inserted] = by_key_.try_emplace(std::string(shard_key), streams_.size());
  if (inserted) OpenStream(shard_key);
  return Write(request, it->second);
}

absl::Status EvaluatePipeline::Write(const v1::EvaluateRequest& request, size_t stream_index) {
  while (options_.max_unanswered > 0 &&
         unanswered_.size() >= static_cast<size_t>(options_.max_unanswered)) {
    if (absl::Status s = DeliverOldest(); !s.ok()) return s;
  }
  Stream& stream = *streams_[stream_index];
  while (stream.failed.ok() && stream.unanswered >= options_.window) {
    if (absl::Status s = DeliverOldest(); !s.ok()) return s;
  }
  if (stream.failed.ok() && !stream.rw->Write(request)) {
    // The stream is over: the server ended it (its status says why) or the
    // connection broke. What was answered before is still handed over, in order
    // (sharded: up to this stream's last request; the others go on).
    while (options_.by_shard_key ? stream.unanswered > 0 : !unanswered_.empty()) {
      if (absl::Status s = DeliverOldest(); !s.ok()) return s;
    }
    if (stream.failed.ok()) {
      grpc::Status status = stream.Close();
      const absl::Status why = status.ok() ? absl::UnavailableError("the server closed the stream")
                                           : FromGrpcStatus(status);
      if (!options_.by_shard_key) return Fail(why);
      FailStream(stream, why);
    }
  }
  // Sharded, on a failed stream: not sent, reported in its turn.
  unanswered_.push_back(stream_index);
  ++stream.unanswered;
  return absl::OkStatus();
}

void EvaluatePipeline::FailStream(Stream& stream, const absl::Status& status) {
  stream.failed = status;  // on_unanswered names the shard key
  if (!stream.finished) {
    stream.context.TryCancel();
    (void)stream.Close();
  }
}

absl::Status EvaluatePipeline::DeliverOldest() {
  Stream& stream = *streams_[unanswered_.front()];
  if (!stream.failed.ok()) {
    unanswered_.pop_front();
    --stream.unanswered;
    if (on_unanswered_) on_unanswered_(stream.shard_key, stream.failed);
    return absl::OkStatus();
  }
  std::unique_lock<std::mutex> lock(stream.mu);
  const bool answered =
      stream.cv.wait_for(lock, absl::ToChronoMilliseconds(client_.options().timeout),
                         [&] { return !stream.received.empty() || stream.ended; });
  if (!answered) {
    lock.unlock();
    return Fail(absl::DeadlineExceededError(
        absl::StrCat("no response within ", absl::FormatDuration(client_.options().timeout))));
  }
  if (stream.received.empty()) {
    lock.unlock();
    grpc::Status status = stream.Close();
    const absl::Status why =
        status.ok() ? absl::UnavailableError("the stream ended with requests unanswered")
                    : FromGrpcStatus(status);
    if (!options_.by_shard_key) return Fail(why);
    FailStream(stream, why);
    return DeliverOldest();  // reports this request as unanswered
  }
  v1::EvaluateResponse response = std::move(stream.received.front());
  stream.received.pop_front();
  lock.unlock();
  unanswered_.pop_front();
  --stream.unanswered;
  on_response_(response);
  return absl::OkStatus();
}

absl::Status EvaluatePipeline::Finish() {
  if (!failed_.ok()) return failed_;
  if (finished_) return absl::OkStatus();
  for (auto& stream : streams_) {
    if (stream->failed.ok()) stream->rw->WritesDone();
  }
  while (!unanswered_.empty()) {
    if (absl::Status s = DeliverOldest(); !s.ok()) return s;
  }
  for (auto& stream : streams_) {
    if (!stream->failed.ok()) continue;  // reported
    grpc::Status status = stream->Close();
    if (status.ok()) continue;
    // Sharded: every request of the stream was answered; nothing is lost.
    if (!options_.by_shard_key) return Fail(FromGrpcStatus(status));
  }
  finished_ = true;
  return absl::OkStatus();
}

absl::Status EvaluatePipeline::Fail(const absl::Status& status) {
  failed_ = absl::Status(status.code(), absl::StrCat("EvaluateStream on ", client_.options().target,
                                                     ": ", status.message()));
  Cancel();
  return failed_;
}

void EvaluatePipeline::Cancel() {
  for (auto& stream : streams_) {
    if (stream->finished) continue;
    stream->context.TryCancel();
    (void)stream->Close();
  }
}

}  // namespace trailsentry
