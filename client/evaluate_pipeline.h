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
// Sharded (`by_shard_key`, for replicas behind a proxy that routes on the
// x-trailsentry-shard header): SendFor opens one stream per shard key (an
// account), carrying the key in the header, so the proxy sends each account to
// its replica. A stream that fails fails only its key: its unanswered requests,
// and any sent for that key later, go to `on_unanswered` in their place in the
// order, and the others go on.
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
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "client/client.h"
#include "trailsentry/v1/detection.pb.h"

namespace trailsentry {

class EvaluatePipeline {
 public:
  struct Options {
    int streams = 2;  // concurrent EvaluateStream calls (not sharded)
    int window = 4;   // unanswered requests per stream
    bool by_shard_key = false;
    // Sharded: requests unanswered over all streams at most (0: no bound
    // beyond `window` per stream); bounds memory however many keys there are.
    int max_unanswered = 0;
  };
  using ResponseFn = std::function<void(const v1::EvaluateResponse&)>;
  // Sharded: a request of `shard_key` that its failed stream never answered.
  using UnansweredFn = std::function<void(std::string_view shard_key, const absl::Status&)>;

  EvaluatePipeline(Client& client, Options options, ResponseFn on_response,
                   UnansweredFn on_unanswered = nullptr);
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
  // Sharded: sends on `shard_key`'s stream (opened on first use). Fails only as
  // Send does for errors that are not one stream's (a response overdue).
  [[nodiscard]] absl::Status SendFor(const v1::EvaluateRequest& request,
                                     std::string_view shard_key);
  // Closes the streams after every response is delivered. Sharded: OK when the
  // only failures were streams' own (each reported through `on_unanswered`).
  [[nodiscard]] absl::Status Finish();

  int streams() const { return options_.streams; }

 private:
  struct Stream;
  absl::Status Open();
  Stream& OpenStream(std::string_view shard_key);
  absl::Status Write(const v1::EvaluateRequest& request, size_t stream_index);
  // Sharded: the stream failed; what it still owes is reported in order.
  void FailStream(Stream& stream, const absl::Status& status);
  absl::Status DeliverOldest();
  absl::Status Fail(const absl::Status& status);
  void Cancel();

  Client& client_;
  const Options options_;
  ResponseFn on_response_;
  UnansweredFn on_unanswered_;
  std::vector<std::unique_ptr<Stream>> streams_;
  absl::flat_hash_map<std::string, size_t> by_key_;  // sharded: the stream of each key
  std::deque<size_t> unanswered_;  // the stream of each unanswered request, oldest first
  absl::Status failed_;
  bool finished_ = false;
};

}  // namespace trailsentry

#endif  // TRAILSENTRY_CLIENT_EVALUATE_PIPELINE_H_
