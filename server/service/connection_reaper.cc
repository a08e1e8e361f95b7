#include "server/service/connection_reaper.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace trailsentry::service {
namespace {

// "addr port" of a socket's local or remote end, as httplib writes remote_addr.
bool Endpoint(int fd, bool peer, std::string& key, int& port) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  auto* sa = reinterpret_cast<sockaddr*>(&ss);
  if ((peer ? getpeername(fd, sa, &len) : getsockname(fd, sa, &len)) != 0) return false;
  char host[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
    port = ntohs(in->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
    port = ntohs(in6->sin6_port);
  } else {
    return false;
  }
  key = absl::StrCat(host, " ", port);
  return true;
}

}  // namespace

ConnectionReaper::ConnectionReaper(int port, absl::Duration timeout)
    : port_(port), timeout_(timeout), thread_([this] { Run(); }) {}

ConnectionReaper::~ConnectionReaper() {
  {
    engine::MutexLock lock(&stop_mu_);
    stop_ = true;
    stop_mu_.NotifyAll();
  }
  thread_.join();
}

void ConnectionReaper::Busy(const std::string& addr, int port) {
  engine::MutexLock lock(&mu_);
  Peer& p = peers_[absl::StrCat(addr, " ", port)];
  p.busy = true;
}

void ConnectionReaper::Done(const std::string& addr, int port) {
  engine::MutexLock lock(&mu_);
  Peer& p = peers_[absl::StrCat(addr, " ", port)];
  p.busy = false;
  p.since = absl::Now();
}

void ConnectionReaper::Run() {
  while (true) {
    {
      engine::MutexLock lock(&stop_mu_);
      if (stop_mu_.AwaitFor([&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stop_mu_) { return stop_; },
                            std::chrono::seconds(1))) {
        return;
      }
    }
    Sweep();
  }
}

void ConnectionReaper::Sweep() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  const absl::Time now = absl::Now();
  int closed = 0;
  engine::MutexLock lock(&mu_);
  for (auto& [key, peer] : peers_) peer.seen = false;
  while (dirent* e = readdir(dir)) {
    int fd = -1;
    if (!absl::SimpleAtoi(e->d_name, &fd) || fd <= 2 || fd == dirfd(dir)) continue;  // ".", ".."
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening) continue;
    std::string local, remote;
    int local_port = 0, remote_port = 0;
    if (!Endpoint(fd, false, local, local_port) || local_port != port_) continue;
    if (!Endpoint(fd, true, remote, remote_port)) continue;
    auto [it, fresh] = peers_.try_emplace(remote);
    Peer& peer = it->second;
    peer.seen = true;
    if (fresh) peer.since = now;
    if (peer.busy || now - peer.since < timeout_) continue;
    // The same connection still (its peer checked again): close it both ways.
    std::string again;
    int again_port = 0;
    if (Endpoint(fd, true, again, again_port) && again == remote) {
      shutdown(fd, SHUT_RDWR);
      reaped_.fetch_add(1, std::memory_order_relaxed);
      ++closed;
      peer.since = now;  // once
    }
  }
  closedir(dir);
  if (closed > 0) {  // one line a sweep, however many: slow clients cannot flood the log
    spdlog::warn("HTTP: closed {} connection(s) that took over {}s without a whole request", closed,
                 absl::ToInt64Seconds(timeout_));
  }
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (!it->second.seen && !it->second.busy) {
      peers_.erase(it++);
    } else {
      ++it;
    }
  }
}

}  // namespace trailsentry::service
