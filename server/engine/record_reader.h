// RecordReader: splits CloudTrail bytes in any container of SPEC §1 into records.
//
// Containers: S3 delivery files ({"Records":[...]}), JSON arrays, JSON lines, and
// EventBridge envelopes, each optionally gzip-compressed (detected by magic bytes,
// not by file name). One reader is reused for many inputs; it is not thread-safe.
//
//   RecordReader reader;
//   absl::Status st = reader.Read(bytes, [&](size_t index, RecordOrError r) { ... });
#ifndef TRAILSENTRY_SERVER_ENGINE_RECORD_READER_H_
#define TRAILSENTRY_SERVER_ENGINE_RECORD_READER_H_

#include <simdjson.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "server/engine/record_parser.h"

namespace trailsentry::engine {

// A record found in the input, or why the record at that position could not even
// be read as JSON (only JSON lines can lose a single record this way).
struct RecordOrError {
  simdjson::dom::element record;  // valid when error is empty
  const RecordError* error = nullptr;
};

class RecordReader {
 public:
  using Callback = absl::FunctionRef<void(size_t index, const RecordOrError& record)>;

  RecordReader() = default;
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // Calls `fn` for each record, in input order, with its 0-based index. Elements
  // are valid only during the call. Fails (naming the position) when the input as
  // a whole is not JSON in a known container or is a corrupt gzip stream.
  [[nodiscard]] absl::Status Read(std::string_view bytes, Callback fn);

  // Reads a whole file (gzip or not) and calls Read on it.
  [[nodiscard]] absl::Status ReadFile(const std::string& path, Callback fn);

 private:
  absl::Status ReadJsonLines(std::string_view text, size_t& index, Callback fn);
  void EmitDocument(simdjson::dom::element doc, size_t& index, Callback fn);

  simdjson::dom::parser parser_;
  std::string inflated_;  // decompressed input, with simdjson padding
  std::string file_;      // file contents, with simdjson padding
};

// True when `bytes` starts with the gzip magic number.
bool IsGzip(std::string_view bytes);

// Inflates a gzip stream (concatenated members allowed) into `out`, leaving
// simdjson::SIMDJSON_PADDING spare bytes of capacity after the data.
[[nodiscard]] absl::Status Gunzip(std::string_view in, std::string& out);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_RECORD_READER_H_
