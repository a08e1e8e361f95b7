// EvaluatePipeline: a long run of EvaluateRequests to a server, several in flight.
//
// Requests go out over `streams` concurrent EvaluateStream calls, each keeping up
// to `window` requests unanswered, so neither the network nor the server waits
// while the sender prepares the next request, and the server evaluates
// `streams` requests at once. The caller picks each request's stream: requests
// on one stream are evaluated in the order sent, requests on different streams
// concurrently. Sending every event of an account on the same stream keeps the
// results those of one stream in file order (spec §2: an account's identities
// and its baseline are the only state events share). Responses are handed to
// `on_response` on the sending thread (inside Send and Finish), in the order the
// requests were sent. Memory is bounded: at most streams × window requests and
// their responses exist at a time. Not thread-safe: one sender.
//
//   EvaluatePipeline pipeline(client, {.streams = 2, .window = 4},
//                             [&](const v1::EvaluateResponse& r) { ... });
//   for (...) if (absl::Status s = pipeline.Send(request, stream); !s.ok()) break;
//   absl::Status s = pipeline.Finish();  // every response delivered, or the first error
#ifndef TRAILSENTRY_CLIENT_EVALUATE_PIPELINE_H_
#define TRAILSENTRY_CLIENT_EVALUATE_PIPELINE_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "client/client.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry {

class EvaluatePipeline {
 public:
  struct Options {
    int streams = 2;  // concurrent EvaluateStream calls
    int window = 4;   // unanswered requests per stream
  };
  using ResponseFn = std::function<void(const v1::EvaluateResponse&)>;

  EvaluatePipeline(Client& client, Options options, ResponseFn on_response);
  // Cancels the streams if Finish was not called (or failed).
  ~EvaluatePipeline();
  EvaluatePipeline(const EvaluatePipeline&) = delete;
  EvaluatePipeline& operator=(const EvaluatePipeline&) = delete;

  // Sends one request, first handing over responses while the pipeline is full.
  // Fails with the first error of any stream (the server's status, or
  // DEADLINE_EXCEEDED when a request waits for its answer longer than the
  // client's timeout), after handing over every response that came before it;
  // the pipeline is then broken and every later call fails.
  // `stream` is taken modulo the number of streams.
  [[nodiscard]] absl::Status Send(const v1::EvaluateRequest& request, size_t stream = 0);
  // Closes the streams after every response is delivered.
  [[nodiscard]] absl::Status Finish();

  int streams() const { return options_.streams; }

 private:
  struct Stream;
  absl::Status Open();
  absl::Status DeliverOldest();
  absl::Status Fail(const absl::Status& status);
  void Cancel();

  Client& client_;
  const Options options_;
  ResponseFn on_response_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::deque<size_t> unanswered_;  // the stream of each unanswered request, oldest first
  absl::Status failed_;
  bool finished_ = false;
};

}  // namespace trailsentry

#endif  // TRAILSENTRY_CLIENT_EVALUATE_PIPELINE_H_
