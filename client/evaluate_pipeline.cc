#include "client/evaluate_pipeline.h"

#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "trailsentry/grpc_status.h"

namespace trailsentry {

// One EvaluateStream. Only the sending thread writes and finishes it; a reader
// thread only reads responses into `received`.
struct EvaluatePipeline::Stream {
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
      std::lock_guard<std::mutex> lock(mu);
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

EvaluatePipeline::EvaluatePipeline(Client& client, Options options, ResponseFn on_response)
    : client_(client), options_(options), on_response_(std::move(on_response)) {}

EvaluatePipeline::~EvaluatePipeline() { Cancel(); }

absl::Status EvaluatePipeline::Open() {
  if (options_.streams < 1 || options_.window < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("a pipeline needs at least one stream and a "
                     "window of one request; got ",
                     options_.streams, " and ", options_.window));
  }
  for (int i = 0; i < options_.streams; ++i) {
    auto stream = std::make_unique<Stream>();
    stream->rw = client_.OpenEvaluateStream(stream->context);
    Stream* s = stream.get();
    stream->reader = std::thread([s] { s->Read(); });
    streams_.push_back(std::move(stream));
  }
  return absl::OkStatus();
}

absl::Status EvaluatePipeline::Send(const v1::EvaluateRequest& request, size_t stream_index) {
  if (!failed_.ok()) return failed_;
  if (finished_) return absl::FailedPreconditionError("the pipeline is finished");
  if (streams_.empty()) {
    if (absl::Status s = Open(); !s.ok()) return Fail(s);
  }
  stream_index %= streams_.size();
  Stream& stream = *streams_[stream_index];
  while (stream.unanswered >= options_.window) {
    if (absl::Status s = DeliverOldest(); !s.ok()) return s;
  }
  if (!stream.rw->Write(request)) {
    // The stream is over: the server ended it (its status says why) or the
    // connection broke. What was answered before is still handed over, in order.
    while (!unanswered_.empty()) {
      if (absl::Status s = DeliverOldest(); !s.ok()) return s;
    }
    grpc::Status status = stream.Close();
    return Fail(status.ok() ? absl::UnavailableError("the server closed the stream")
                            : FromGrpcStatus(status));
  }
  unanswered_.push_back(stream_index);
  ++stream.unanswered;
  return absl::OkStatus();
}

absl::Status EvaluatePipeline::DeliverOldest() {
  Stream& stream = *streams_[unanswered_.front()];
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
    return Fail(status.ok() ? absl::UnavailableError("the stream ended with requests unanswered")
                            : FromGrpcStatus(status));
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
    stream->rw->WritesDone();
  }
  while (!unanswered_.empty()) {
    if (absl::Status s = DeliverOldest(); !s.ok()) return s;
  }
  for (auto& stream : streams_) {
    grpc::Status status = stream->Close();
    if (!status.ok()) return Fail(FromGrpcStatus(status));
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
