// When trailsentryd and `trailsentry scan` re-execute with glibc's malloc
// asking for transparent huge pages (the e2e tests check the running server).
#include "server/pipeline/process_memory.h"

#include <gtest/gtest.h>

namespace trailsentry::pipeline {
namespace {

constexpr std::string_view kMadvise = "always [madvise] never\n";

TEST(HugePageTunables, AskedForWhereTheKernelGivesThemOnlyWhenAsked) {
  EXPECT_EQ(HugePageTunables(kMadvise, std::nullopt, std::nullopt), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(HugePageTunables(kMadvise, "", std::nullopt), "glibc.malloc.hugetlb=1");
  // An opt-out other than "0" does not opt out.
  EXPECT_EQ(HugePageTunables(kMadvise, std::nullopt, "1"), "glibc.malloc.hugetlb=1");
}

TEST(HugePageTunables, AddedToTheTunablesAlreadySet) {
  EXPECT_EQ(HugePageTunables(kMadvise, "glibc.malloc.arena_max=2", std::nullopt),
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
}

TEST(HugePageTunables, NotWhereTheKernelDecidesAlone) {
  EXPECT_EQ(HugePageTunables("[always] madvise never\n", std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(HugePageTunables("always madvise [never]\n", std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(HugePageTunables(std::nullopt, std::nullopt, std::nullopt), std::nullopt);
  EXPECT_EQ(HugePageTunables("", std::nullopt, std::nullopt), std::nullopt);
}

TEST(HugePageTunables, OnceAndNeverOverAnOperatorsChoice) {
  // After the re-execution (or set by the operator, to 0 or 1): run as is.
  EXPECT_EQ(HugePageTunables(kMadvise, "glibc.malloc.hugetlb=1", std::nullopt), std::nullopt);
  EXPECT_EQ(
      HugePageTunables(kMadvise, "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0", std::nullopt),
      std::nullopt);
  EXPECT_EQ(HugePageTunables(kMadvise, std::nullopt, "0"), std::nullopt);
}

}  // namespace
}  // namespace trailsentry::pipeline
