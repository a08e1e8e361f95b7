// ConnectionReaper: closes HTTP connections that take too long to deliver a
// request, so slow clients (slowloris: a header line now and then) cannot hold
// the gateway's worker threads. httplib's read timeout is per read, so a client
// trickling bytes never trips it.
//
// Every second it lists the process's sockets on the gateway's port; one that has
// been open for `timeout` without a request under way or answered in that time
// is shut down (its worker's read returns, the worker moves on). The gateway
// tells it when a request's headers are in (Busy) and when its response is out
// (Done); a connection whose request is being evaluated is never touched.
//
//   ConnectionReaper reaper(port, absl::Seconds(30));
//   reaper.Busy(req.remote_addr, req.remote_port);   // pre-routing
//   reaper.Done(req.remote_addr, req.remote_port);   // logger, after the response
#ifndef TRAILSENTRY_SERVER_SERVICE_CONNECTION_REAPER_H_
#define TRAILSENTRY_SERVER_SERVICE_CONNECTION_REAPER_H_

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "server/engine/mutex.h"

namespace trailsentry::service {

class ConnectionReaper {
 public:
  ConnectionReaper(int port, absl::Duration timeout);
  ~ConnectionReaper();
  ConnectionReaper(const ConnectionReaper&) = delete;
  ConnectionReaper& operator=(const ConnectionReaper&) = delete;

  void Busy(const std::string& addr, int port);
  void Done(const std::string& addr, int port);
  uint64_t reaped() const { return reaped_.load(std::memory_order_relaxed); }

 private:
  struct Peer {
    absl::Time since;   // connection first seen, or its last response
    bool busy = false;  // a request is being handled
    bool seen = false;  // still listed at the last sweep
  };
  void Run();
  void Sweep();

  const int port_;
  const absl::Duration timeout_;
  engine::Mutex mu_;
  absl::flat_hash_map<std::string, Peer> peers_ ABSL_GUARDED_BY(mu_);  // "addr port"
  std::atomic<uint64_t> reaped_{0};
  engine::Mutex stop_mu_;
  bool stop_ ABSL_GUARDED_BY(stop_mu_) = false;
  std::thread thread_;
};

}  // namespace trailsentry::service

#endif  // TRAILSENTRY_SERVER_SERVICE_CONNECTION_REAPER_H_
