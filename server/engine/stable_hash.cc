#include "server/engine/stable_hash.h"

#include <cstring>

namespace trailsentry::engine {
namespace {

constexpr uint64_t kP0 = 0xa0761d6478bd642fULL, kP1 = 0xe7037ed1a0b428dbULL,
                   kP2 = 0x8ebc6af09c88c6e3ULL;

// 64x64 -> 128-bit multiply, folded: the mixing step of wyhash.
uint64_t Mum(uint64_t a, uint64_t b) {
  const unsigned __int128 r = static_cast<unsigned __int128>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}

uint64_t Load(const char* p, size_t n) {  // n <= 8, little-endian
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
}

// StableHash64 of `bytes` under each of `seeds`, in one pass: each 16 bytes are
// loaded once and fed to every seed's chain.
template <size_t kSeeds>
void StableHashes(std::string_view bytes, const uint64_t (&seeds)[kSeeds],
                  uint64_t (&out)[kSeeds]) {
  const char* p = bytes.data();
  size_t n = bytes.size();
  uint64_t h[kSeeds];
  for (size_t i = 0; i < kSeeds; ++i) h[i] = seeds[i] ^ Mum(seeds[i] ^ kP0, n ^ kP1);
  while (n >= 16) {
    const uint64_t a = Load(p, 8) ^ kP1, b = Load(p + 8, 8);
    for (size_t i = 0; i < kSeeds; ++i) h[i] = Mum(a, b ^ h[i]);
    p += 16;
    n -= 16;
  }
  const uint64_t a = n >= 8 ? Load(p, 8) : Load(p, n);
  const uint64_t b = n > 8 ? Load(p + 8, n - 8) : 0;
  for (size_t i = 0; i < kSeeds; ++i) {
    out[i] = Mum(kP1 ^ bytes.size(), Mum(a ^ kP1 ^ h[i], b ^ kP2 ^ h[i]));
  }
}

}  // namespace

uint64_t StableHash64(std::string_view bytes, uint64_t seed) {
  uint64_t out[1];
  StableHashes(bytes, {seed}, out);
  return out[0];
}

StableHash128 StableHash128Of(std::string_view bytes) {
  uint64_t out[2];
  StableHashes(bytes, {kStableHash128High, kStableHash128Low}, out);
  return {out[0], out[1]};
}

}  // namespace trailsentry::engine
