// ShardRing: nginx's consistent hash, as replicas and `admin export` compute it.
// That it picks what nginx itself picks is proven end to end by
// tests/e2e/shards_e2e_test.sh (real nginx, replicas refusing misrouted accounts).
#include "server/engine/shard_ring.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "absl/strings/str_format.h"

namespace trailsentry::engine {
namespace {

std::string Account(int i) { return absl::StrFormat("%012d", 100000000000LL + i * 7919); }

TEST(ShardRing, SpreadsAccountsOverEveryReplica) {
  ShardRing ring({"127.0.0.1:50061", "127.0.0.1:50062", "127.0.0.1:50063"});
  std::map<std::string, int> owned;
  for (int i = 0; i < 3000; ++i) ++owned[std::string(ring.Owner(Account(i)))];
  ASSERT_EQ(owned.size(), 3u);
  for (const auto& [replica, n] : owned) {
    EXPECT_GT(n, 600) << replica;  // 1000 each on average; 160 points each keep it near
    EXPECT_LT(n, 1400) << replica;
  }
  EXPECT_EQ(ShardRing({}).Owner("111122223333"), "");
  EXPECT_EQ(ShardRing({"only:1"}).Owner("111122223333"), "only:1");
}

TEST(ShardRing, OwnerDependsOnTheSetNotTheOrder) {
  ShardRing a({"10.0.0.1:50051", "10.0.0.2:50051", "10.0.0.3:50051"});
  ShardRing b({"10.0.0.3:50051", "10.0.0.1:50051", "10.0.0.2:50051"});
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(a.Owner(Account(i)), b.Owner(Account(i)));
}

TEST(ShardRing, AddingAReplicaMovesAboutAQuarterAndOnlyToIt) {
  ShardRing three({"127.0.0.1:50061", "127.0.0.1:50062", "127.0.0.1:50063"});
  ShardRing four({"127.0.0.1:50061", "127.0.0.1:50062", "127.0.0.1:50063", "127.0.0.1:50064"});
  int moved = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::string account = Account(i);
    if (three.Owner(account) == four.Owner(account)) continue;
    ++moved;
    EXPECT_EQ(four.Owner(account), "127.0.0.1:50064") << account;
  }
  EXPECT_GT(moved, 600);  // 1000 expected
  EXPECT_LT(moved, 1400);
}

TEST(ShardRing, NamesAreHashedAsNginxSplitsThem) {
  // "host:port" hashes host \0 port; a name whose tail is not all digits has no
  // port, so these two rings differ although the names only move the colon.
  ShardRing with_port({"a:1", "b:2"});
  ShardRing without({"a:1x", "b:2x"});
  int differ = 0;
  for (int i = 0; i < 200; ++i) {
    const std::string k = Account(i);
    differ += (with_port.Owner(k) == "a:1") != (without.Owner(k) == "a:1x");
  }
  EXPECT_GT(differ, 0);
}

}  // namespace
}  // namespace trailsentry::engine
