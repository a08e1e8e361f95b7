// ShardRing: which replica owns an account, computed exactly as nginx's
// `hash $http_x_trailsentry_shard consistent;` picks an upstream server (ketama:
// 160 points per server on a CRC-32 ring, each key to the first point at or
// after its CRC-32). Replicas use it to refuse accounts a misrouting sender or
// proxy sends them; `trailsentry admin export` uses it to find the accounts a
// new ring moves. Replica names are the `server` addresses exactly as written in
// nginx's upstream block ("10.0.0.5:50051", "trailsentry-1.trailsentry:50051").
//
//   ShardRing ring({"127.0.0.1:50061", "127.0.0.1:50062", "127.0.0.1:50063"});
//   std::string_view owner = ring.Owner("111122223333");
#ifndef TRAILSENTRY_SERVER_ENGINE_SHARD_RING_H_
#define TRAILSENTRY_SERVER_ENGINE_SHARD_RING_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace trailsentry::engine {

class ShardRing {
 public:
  explicit ShardRing(std::vector<std::string> replicas);

  // The replica that owns `key` (an account ID). Empty ring: "".
  std::string_view Owner(std::string_view key) const;
  const std::vector<std::string>& replicas() const { return replicas_; }

 private:
  struct Point {
    uint32_t hash;
    uint32_t replica;  // index into replicas_
  };
  std::vector<std::string> replicas_;
  std::vector<Point> points_;  // sorted by hash, one per hash
};

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_SHARD_RING_H_
