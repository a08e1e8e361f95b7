#include "server/engine/shard_ring.h"

#include <zlib.h>

#include <algorithm>

namespace trailsentry::engine {
namespace {

uint32_t Crc32(uint32_t crc, std::string_view bytes) {
  return static_cast<uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// nginx splits "host:port" at the last ':' followed only by digits; "unix:path"
// and names without a port have no port.
void SplitHostPort(std::string_view server, std::string_view& host, std::string_view& port) {
  host = server;
  port = {};
  if (server.starts_with("unix:")) {
    host = server.substr(5);
    return;
  }
  for (size_t j = 0; j < server.size(); ++j) {
    const char c = server[server.size() - j - 1];
    if (c == ':') {
      host = server.substr(0, server.size() - j - 1);
      port = server.substr(server.size() - j);
      return;
    }
    if (c < '0' || c > '9') return;
  }
}

}  // namespace

ShardRing::ShardRing(std::vector<std::string> replicas) : replicas_(std::move(replicas)) {
  constexpr int kPointsPerReplica = 160;  // nginx: 160 × weight (weight 1)
  points_.reserve(replicas_.size() * kPointsPerReplica);
  for (size_t r = 0; r < replicas_.size(); ++r) {
    std::string_view host, port;
    SplitHostPort(replicas_[r], host, port);
    // crc32(host \0 port prev_hash): zlib's crc32 continues a finished CRC, so
    // the base is computed once and each point continues it.
    uint32_t base = Crc32(0, host);
    base = Crc32(base, std::string_view("\0", 1));
    base = Crc32(base, port);
    uint32_t prev = 0;
    for (int j = 0; j < kPointsPerReplica; ++j) {
      const unsigned char le[4] = {
          static_cast<unsigned char>(prev), static_cast<unsigned char>(prev >> 8),
          static_cast<unsigned char>(prev >> 16), static_cast<unsigned char>(prev >> 24)};
      const uint32_t hash = Crc32(base, std::string_view(reinterpret_cast<const char*>(le), 4));
      points_.push_back({hash, static_cast<uint32_t>(r)});
      prev = hash;
    }
  }
  // nginx sorts by hash and keeps one point per hash (the sort is not stable:
  // a tie between two servers, 1 in ~2^32 / points², is resolved arbitrarily there).
  std::stable_sort(points_.begin(), points_.end(),
                   [](const Point& a, const Point& b) { return a.hash < b.hash; });
  points_.erase(std::unique(points_.begin(), points_.end(),
                            [](const Point& a, const Point& b) { return a.hash == b.hash; }),
                points_.end());
}

std::string_view ShardRing::Owner(std::string_view key) const {
  if (points_.empty()) return {};
  const uint32_t hash = Crc32(0, key);
  auto it = std::lower_bound(points_.begin(), points_.end(), hash,
                             [](const Point& p, uint32_t h) { return p.hash < h; });
  if (it == points_.end()) it = points_.begin();
  return replicas_[it->replica];
}

}  // namespace trailsentry::engine
