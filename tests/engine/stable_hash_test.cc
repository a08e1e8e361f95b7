// StableHash64 is stored (event ids in the event log) and picks an identity's
// shard, so its values must never change; StableHash128Of, one pass over the
// bytes, must give the two StableHash64 values it is defined as.
#include "server/engine/stable_hash.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace trailsentry::testing {
namespace {

using engine::StableHash128;
using engine::StableHash128Of;
using engine::StableHash64;

TEST(StableHashTest, StoredValuesNeverChange) {
  // Computed once (a directory written by any release holds them); a change
  // here orphans every stored event id.
  struct Golden {
    std::string bytes;
    uint64_t seed0, seed1;
  };
  const Golden golden[] = {
      {"", 0x058621ea26b5b6ddULL, 0x113a0f4814461843ULL},
      {"a", 0x5d1ce8276f0d3ce6ULL, 0x681a4bdf5e2312a9ULL},
      {"arn:aws:iam::1:user/a", 0xe2e3b6dd625818fdULL, 0x67d078670ffb9025ULL},
      {"0123456789abcdef", 0x3136d09e383062c0ULL, 0xe66c1156828f6585ULL},
      {"0123456789abcdef0", 0x350b4cd3c0ffcd77ULL, 0x0ffbaa63cadc04faULL},
      {"3f1b8a2e-1c4d-4e5f-9a6b-7c8d9e0f1a2b", 0xf5dc1c44d549e51eULL, 0xd017eb4cef1228f4ULL},
  };
  for (const Golden& g : golden) {
    EXPECT_EQ(StableHash64(g.bytes, 0), g.seed0) << '"' << g.bytes << '"';
    EXPECT_EQ(StableHash64(g.bytes, 1), g.seed1) << '"' << g.bytes << '"';
  }
  EXPECT_EQ(StableHash128Of("arn:aws:iam::1:user/a").low, 0x62985b2e50a4574fULL);
}

TEST(StableHashTest, OnePassGivesTheTwoHashesItIsDefinedAs) {
  // Every length from 0 to 3 blocks of 16 and more, every tail length, bytes
  // of every value (NUL and high bits included).
  std::string bytes;
  for (int n = 0; n <= 70; ++n) {
    const StableHash128 h = StableHash128Of(bytes);
    EXPECT_EQ(h.high, StableHash64(bytes, engine::kStableHash128High)) << n << " bytes";
    EXPECT_EQ(h.low, StableHash64(bytes, engine::kStableHash128Low)) << n << " bytes";
    bytes.push_back(static_cast<char>(n * 37 + 200));
  }
}

TEST(StableHashTest, EveryByteAndTheLengthCount) {
  const StableHash128 base = StableHash128Of(std::string(40, 'x'));
  for (size_t i = 0; i < 40; ++i) {
    std::string changed(40, 'x');
    changed[i] = 'y';
    EXPECT_NE(StableHash128Of(changed), base) << "byte " << i;
  }
  EXPECT_NE(StableHash128Of(std::string(39, 'x')), base);
  EXPECT_NE(StableHash128Of(std::string("x\0", 2)), StableHash128Of("x"));
}

}  // namespace
}  // namespace trailsentry::testing
