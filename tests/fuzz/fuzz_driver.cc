// Runs a fuzz target without libFuzzer (gcc has none), under ctest: its seed
// files (each file of a folder given) and crafted edge cases, then deterministic
// mutations of them (bit flips, byte insertions and deletions, truncations,
// splices), a fixed number of rounds. With clang, the same targets build as
// libFuzzer binaries instead (deploy/dev.sh fuzz).
//
//   records_fuzz_driver ROUNDS SEED_FILE_OR_DIR...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string Mutate(std::string s, std::mt19937_64& rng, const std::vector<std::string>& seeds) {
  const int edits = 1 + static_cast<int>(rng() % 8);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const size_t pos = rng() % s.size();
    switch (rng() % 6) {
      case 0:
        s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8)));
        break;
      case 1:
        s.insert(pos, 1, "{}[]\",:\\0a\n"[rng() % 11]);
        break;
      case 2:
        s.erase(pos, 1 + rng() % 16);
        break;
      case 3:
        s.resize(pos);
        break;
      case 4: {
        const std::string& other = seeds[rng() % seeds.size()];
        if (!other.empty()) s.insert(pos, other.substr(rng() % other.size(), 1 + rng() % 64));
        break;
      }
      default:
        s.replace(pos, 1, std::string(1 + rng() % 4, s[pos]));
        break;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s ROUNDS [SEED_FILE_OR_DIR...]\n", argv[0]);
    return 2;
  }
  const long rounds = std::atol(argv[1]);
  std::vector<std::string> seeds = {
      "",
      "{",
      "[",
      "[]",
      "{}",
      "null",
      "{\"Records\":[]}",
      "{\"Records\":[1,\"x\",null,{}]}",
      "{\"detail-type\":\"x\",\"detail\":{\"eventName\":\"ListUsers\"}}",
      "{\"eventName\":\"ListUsers\",\"eventSource\":\"iam.amazonaws.com\",\"eventTime\":"
      "\"2026-03-15T09:31:02Z\",\"sourceIPAddress\":\"::ffff:1.2.3.4\",\"userAgent\":"
      "\"aws-cli/2.1.0\",\"userIdentity\":{\"arn\":\"arn:aws:iam::1:user/a\"}}",
      std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00", 8)};
  std::vector<std::filesystem::path> files;
  for (int i = 2; i < argc; ++i) {
    if (std::filesystem::is_directory(argv[i])) {
      for (const auto& e : std::filesystem::directory_iterator(argv[i])) files.push_back(e.path());
    } else {
      files.emplace_back(argv[i]);
    }
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    if (s.size() > 64 * 1024) s.resize(64 * 1024);  // keep rounds fast
    seeds.push_back(s);
  }
  std::mt19937_64 rng(20261128);
  for (const std::string& s : seeds) Run(s);
  for (long r = 0; r < rounds; ++r) Run(Mutate(seeds[rng() % seeds.size()], rng, seeds));
  std::printf("%s: %zu seeds, %ld mutated inputs, no crash\n", argv[0], seeds.size(), rounds);
  return 0;
}
