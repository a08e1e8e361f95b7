// parse-ceiling: how fast one core reads and parses a JSON-lines file the way
// each of `scan`'s threads does (RecordReader::ReadFile: 4 MiB units read from
// the page cache into one reused buffer, each line DOM-parsed where it lies):
//   - by default the read + DOM parse alone (the ceiling `scan` is measured
//     against);
//   - with --fields, what each of `scan`'s threads does before the rules: the
//     read + DOM parse (a container's or envelope's records found), then the
//     spec §1 fields read into an engine::Event (ParseRecord). Set beside the
//     On-Demand limit of ../shared/bench (tests/bench/peers.sh), which also
//     streams the file from the page cache into a reused buffer and keeps its
//     best pass, it is issue 8's "parse + field extraction per thread".
// Best of REPEATS passes (default 3). Loading the whole file into fresh memory
// first, as this tool once did, measured this VM's first touch of that memory
// (~0.8 GB/s here) as much as the parse.
//
//   parse-ceiling [--fields] workload.jsonl [REPEATS]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <system_error>

#include "server/engine/event.h"
#include "server/engine/record_parser.h"
#include "server/engine/record_reader.h"

int main(int argc, char** argv) {
  int arg = 1;
  const bool fields = argc > 1 && std::strcmp(argv[1], "--fields") == 0;
  arg += fields ? 1 : 0;
  if (argc - arg < 1 || argc - arg > 2) {
    std::fprintf(stderr, "usage: parse-ceiling [--fields] FILE.jsonl [REPEATS]\n");
    return 2;
  }
  const std::string path = argv[arg];
  const int repeats = argc - arg == 2 ? std::max(1, std::atoi(argv[arg + 1])) : 3;
  trailsentry::engine::RecordReader reader;
  trailsentry::engine::Event event;
  double best = 0;
  size_t records = 0, errors = 0;
  for (int pass = 0; pass < repeats; ++pass) {
    records = errors = 0;
    const auto start = std::chrono::steady_clock::now();
    const absl::Status st =
        reader.ReadFile(path, [&](size_t, const trailsentry::engine::RecordOrError& r) {
          if (r.error != nullptr || (fields && trailsentry::engine::ParseRecord(r.record, event))) {
            ++errors;
          } else {
            ++records;
          }
        });
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!st.ok()) {
      std::fprintf(stderr, "parse-ceiling: %s\n", std::string(st.message()).c_str());
      return 1;
    }
    best = pass == 0 ? secs : std::min(best, secs);
  }
  std::error_code ec;
  uintmax_t bytes = std::filesystem::file_size(path, ec);
  if (ec) bytes = 0;  // not a regular file: no MB/s (file_size gives uintmax_t(-1))
  std::printf(
      "parse-ceiling%s: %zu records (%zu errors) in %.2fs (best of %d): %.0f records/s, %.0f "
      "MB/s\n",
      fields ? " --fields" : "", records, errors, best, repeats,
      static_cast<double>(records) / best, static_cast<double>(bytes) / best / 1e6);
  return 0;
}
