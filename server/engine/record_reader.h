// RecordReader: splits CloudTrail bytes in any container of spec §1 into records.
//
// Containers: S3 delivery files ({"Records":[...]}), JSON arrays, JSON lines, and
// EventBridge envelopes, each optionally gzip-compressed (detected by magic bytes,
// not by file name). One reader is reused for many inputs; it is not thread-safe.
// Input from the network is read in two steps, so its size is known (and limited)
// before any record is used:
//
//   RecordReader reader;
//   absl::StatusOr<size_t> n = reader.Open(bytes, ContainerHint::kUnknown, limits);
//   absl::Status st = reader.ForEach([&](size_t index, const RecordOrError& r) { ... });
#ifndef TRAILSENTRY_SERVER_ENGINE_RECORD_READER_H_
#define TRAILSENTRY_SERVER_ENGINE_RECORD_READER_H_

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/engine/record_parser.h"
#include "server/engine/unit_buffer.h"

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

// A piece of a file for one reader: whole JSON lines, or a whole document.
// `bytes` has simdjson::SIMDJSON_PADDING spare capacity after its data, so it is
// parsed where it lies.
struct InputUnit {
  UnitBuffer bytes;
  ContainerHint hint = ContainerHint::kUnknown;  // kJsonLines: lines; else one document
};

// Bounds on what one input may cost (network input: a gzip bomb inflates 1000x).
struct ReadLimits {
  size_t max_inflated_bytes = SIZE_MAX;  // a gzip stream inflating past this fails
  size_t max_records = SIZE_MAX;         // an input holding more records fails
};

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

  // Read in two steps. Open inflates `bytes` (which must outlive ForEach unless
  // gzip), decides the container and returns how many records it holds: exact for
  // a document, the number of non-blank lines for JSON lines (a line may itself
  // be a container; ForEach enforces the limit on those). RESOURCE_EXHAUSTED,
  // naming the limit, when the input is over a limit; nothing is read then.
  [[nodiscard]] absl::StatusOr<size_t> Open(std::string_view bytes, ContainerHint hint,
                                            const ReadLimits& limits);
  // Calls `fn` for each record of the opened input. RESOURCE_EXHAUSTED when JSON
  // lines turn out to hold more than max_records records: `fn` has then seen the
  // first max_records of them.
  [[nodiscard]] absl::Status ForEach(Callback fn);

  // Frees buffers grown past `keep_bytes` by one large input, so a reader that
  // lives on (one per thread) does not hold the largest input it ever read.
  void Trim(size_t keep_bytes);

  // Reads a file (gzip or not), with the hint its name gives; JSON lines are
  // streamed, other containers read whole. Indexes count from 0 over the file.
  [[nodiscard]] absl::Status ReadFile(const std::string& path, Callback fn);

  // Splits a file (gzip or not) into units for readers that may run on other
  // threads: JSON lines (by the name's hint or the first line) in units of whole
  // lines of about `unit_bytes` (more only for a longer line), anything else as
  // one unit holding the whole file. `unit` is filled from `new_buffer()` (so
  // buffers can be reused) and passed to `fn`, which may move its bytes away; a
  // failing `fn` stops the split with its status.
  using UnitFn = absl::FunctionRef<absl::Status(InputUnit& unit)>;
  [[nodiscard]] absl::Status SplitFile(const std::string& path, size_t unit_bytes,
                                       absl::FunctionRef<UnitBuffer()> new_buffer, UnitFn fn);

  // Calls `fn` for each record of a unit, indexes counting from 0 in the unit.
  [[nodiscard]] absl::Status ReadUnit(const InputUnit& unit, Callback fn);

 private:
  absl::Status ReadJsonLines(std::string_view text, size_t& index, Callback fn);
  size_t CountRecords(simdjson::dom::element doc) const;
  // True when a line of `text` that parses as a JSON object has more input after
  // it; with `first_only`, only the first non-blank line is tried.
  bool LooksLikeJsonLines(std::string_view text, bool first_only);
  absl::Status EmitDocument(simdjson::dom::element doc, size_t& index, Callback fn);

  enum class Opened { kNothing, kLines, kDocument };
  Opened opened_ = Opened::kNothing;
  std::string_view text_;          // the opened input (padded)
  simdjson::dom::element doc_;     // the opened document, with kDocument
  size_t max_records_ = SIZE_MAX;  // of the opened input

  simdjson::dom::parser parser_;
  std::string inflated_;  // decompressed input, with simdjson padding
  std::string file_;      // file contents, with simdjson padding
};

// True when `bytes` starts with the gzip magic number.
bool IsGzip(std::string_view bytes);

// Inflates a gzip stream (concatenated members allowed) into `out`, leaving
// simdjson::SIMDJSON_PADDING spare bytes of capacity after the data.
// RESOURCE_EXHAUSTED when it would inflate past `max_bytes`.
[[nodiscard]] absl::Status Gunzip(std::string_view in, std::string& out,
                                  size_t max_bytes = SIZE_MAX);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_RECORD_READER_H_
