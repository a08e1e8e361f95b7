// ResolveReplicas: the replica list of a fleet-wide alert listing.
#include "client/fleet_alerts.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace trailsentry {
namespace {

TEST(ResolveReplicasTest, AddressesPassAndDnsNamesBecomeEveryAddressSorted) {
  absl::StatusOr<std::vector<std::string>> r =
      ResolveReplicas({"10.0.0.2:50051", "dns:localhost:50099", "b.example:1"});
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_GE(r->size(), 3u);
  EXPECT_EQ(r->front(), "10.0.0.2:50051");
  EXPECT_EQ(r->back(), "b.example:1");
  const std::vector<std::string> resolved(r->begin() + 1, r->end() - 1);
  EXPECT_TRUE(std::is_sorted(resolved.begin(), resolved.end()));
  EXPECT_TRUE(std::find(resolved.begin(), resolved.end(), "127.0.0.1:50099") != resolved.end() ||
              std::find(resolved.begin(), resolved.end(), "[::1]:50099") != resolved.end());
}

TEST(ResolveReplicasTest, BadNamesSayWhich) {
  absl::StatusOr<std::vector<std::string>> r = ResolveReplicas({"dns:localhost"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("dns:localhost"), std::string_view::npos);
  r = ResolveReplicas({"dns:no-such-host.invalid:50051"});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("no-such-host.invalid"), std::string_view::npos);
}

}  // namespace
}  // namespace trailsentry
