// RecordReader: splits CloudTrail bytes in any container of spec §1 into records.
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

// What the caller knows of the container: a file named *.jsonl / *.ndjson (each
// optionally .gz) is JSON lines whatever its first line holds.
enum class ContainerHint { kUnknown, kJsonLines };

// The hint a file name gives.
ContainerHint HintFromName(std::string_view path);

class RecordReader {
 public:
  using Callback = absl::FunctionRef<void(size_t index, const RecordOrError& record)>;

  RecordReader() = default;
  RecordReader(const RecordReader&) = delete;
  RecordReader& operator=(const RecordReader&) = delete;

  // Calls `fn` for each record, in input order, with its 0-based index. Elements
  // are valid only during the call. The container is decided by the hint, else by
  // the first line that parses as a JSON object: JSON lines when more follows it,
  // else one document (S3 delivery file, array, envelope, pretty-printed record).
  // In JSON lines a line that is not JSON is one record with an error, and the
  // rest are read. Fails (naming the position) only when nothing in the input
  // parses as JSON, or on a corrupt gzip stream.
  [[nodiscard]] absl::Status Read(std::string_view bytes, Callback fn,
                                  ContainerHint hint = ContainerHint::kUnknown);

  // Reads a file (gzip or not), with the hint its name gives; JSON lines are
  // streamed, other containers read whole.
  [[nodiscard]] absl::Status ReadFile(const std::string& path, Callback fn);

 private:
  absl::Status ReadJsonLines(std::string_view text, size_t& index, Callback fn);
  // True when a line of `text` that parses as a JSON object has more input after
  // it; with `first_only`, only the first non-blank line is tried.
  bool LooksLikeJsonLines(std::string_view text, bool first_only);
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
