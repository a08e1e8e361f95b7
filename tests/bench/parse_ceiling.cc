// parse-ceiling: how fast one core parses a JSON-lines file, one record at a
// time, from memory:
//   - by default simdjson's DOM parse alone (the ceiling `scan` is measured
//     against);
//   - with --fields, what each of `scan`'s threads does before the rules: the
//     DOM parse, then the spec §1 fields read into an engine::Event
//     (UnwrapEventBridge + ParseRecord). Set beside the On-Demand limit of
//     ../shared/bench (tests/bench/peers.sh) it is issue 8's "parse + field
//     extraction per thread".
//
//   parse-ceiling [--fields] workload.jsonl
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "server/engine/event.h"
#include "server/engine/record_parser.h"

int main(int argc, char** argv) {
  const bool fields = argc == 3 && std::strcmp(argv[1], "--fields") == 0;
  if (argc != 2 && !fields) {
    std::fprintf(stderr, "usage: parse-ceiling [--fields] FILE.jsonl\n");
    return 2;
  }
  const char* path = argv[argc - 1];
  simdjson::padded_string file;
  if (simdjson::padded_string::load(path).get(file)) {
    std::fprintf(stderr, "parse-ceiling: cannot read %s\n", path);
    return 1;
  }
  simdjson::dom::parser parser;
  trailsentry::engine::Event event;
  const std::string_view text(file.data(), file.size());
  const auto start = std::chrono::steady_clock::now();
  size_t records = 0, errors = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) {
      simdjson::dom::element doc;
      if (parser.parse(text.data() + pos, end - pos, false).get(doc) ||
          (fields &&
           trailsentry::engine::ParseRecord(trailsentry::engine::UnwrapEventBridge(doc), event))) {
        ++errors;
      } else {
        ++records;
      }
    }
    pos = end + 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("parse-ceiling%s: %zu records (%zu errors) in %.2fs: %.0f records/s, %.0f MB/s\n",
              fields ? " --fields" : "", records, errors, secs, static_cast<double>(records) / secs,
              static_cast<double>(file.size()) / secs / 1e6);
  return 0;
}
