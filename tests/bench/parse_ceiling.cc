// parse-ceiling: how fast simdjson alone parses a JSON-lines file, one record at
// a time, on one core: the ceiling `trailsentry scan` is measured against.
//
//   parse-ceiling workload.jsonl
#include <simdjson.h>

#include <chrono>
#include <cstdio>
#include <string_view>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: parse-ceiling FILE.jsonl\n");
    return 2;
  }
  simdjson::padded_string file;
  if (simdjson::padded_string::load(argv[1]).get(file)) {
    std::fprintf(stderr, "parse-ceiling: cannot read %s\n", argv[1]);
    return 1;
  }
  simdjson::dom::parser parser;
  const std::string_view text(file.data(), file.size());
  const auto start = std::chrono::steady_clock::now();
  size_t records = 0, errors = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) {
      simdjson::dom::element doc;
      if (parser.parse(text.data() + pos, end - pos, false).get(doc)) {
        ++errors;
      } else {
        ++records;
      }
    }
    pos = end + 1;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("parse-ceiling: %zu records (%zu errors) in %.2fs: %.0f records/s, %.0f MB/s\n",
              records, errors, secs, static_cast<double>(records) / secs,
              static_cast<double>(file.size()) / secs / 1e6);
  return 0;
}
