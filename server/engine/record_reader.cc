#include "server/engine/record_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "server/engine/absl_view.h"
#include "server/engine/internal/name_set.h"
#include "server/engine/printable.h"

namespace trailsentry::engine {
namespace {

using simdjson::dom::element;

size_t SkipSpace(std::string_view s, size_t pos) {
  if (pos == 0 && s.starts_with("\xEF\xBB\xBF")) pos = 3;  // UTF-8 byte order mark
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\r' || s[pos] == '\t')) {
    ++pos;
  }
  return pos;
}

// Copies `bytes` into `buf` with simdjson's padding after it, returning a view of
// the copy (simdjson reads up to SIMDJSON_PADDING bytes past the end).
std::string_view Padded(std::string_view bytes, std::string& buf) {
  buf.reserve(bytes.size() + simdjson::SIMDJSON_PADDING);
  buf.assign(bytes.data(), bytes.size());
  return buf;
}

bool HasPadding(const std::string& s) {
  return s.capacity() >= s.size() + simdjson::SIMDJSON_PADDING;
}

}  // namespace

bool IsGzip(std::string_view bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

absl::Status Gunzip(std::string_view in, std::string& out, size_t max_bytes) {
  out.clear();
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return absl::InternalError("gzip: inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  // One byte past the limit is room enough to tell that the limit was passed.
  const size_t cap = max_bytes == SIZE_MAX ? SIZE_MAX : max_bytes + 1;
  out.resize(std::min(std::max<size_t>(in.size() * 4, 4096), cap));
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) {
      if (out.size() == cap) break;
      out.resize(std::min(out.size() * 2, cap));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - produced, UINT32_MAX));
    const uInt avail = zs.avail_out;
    rc = inflate(&zs, Z_NO_FLUSH);
    produced += avail - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // another gzip member follows
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated stream
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  const std::string msg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (produced > max_bytes) {
    out.clear();
    out.shrink_to_fit();
    return absl::ResourceExhaustedError(
        absl::StrCat("gzip: inflates to more than ", max_bytes, " bytes"));
  }
  if (rc != Z_STREAM_END) {
    return absl::InvalidArgumentError(absl::StrCat("gzip: corrupt or truncated stream after ",
                                                   produced, " bytes", msg.empty() ? "" : ": ",
                                                   msg));
  }
  out.resize(produced);
  out.reserve(produced + simdjson::SIMDJSON_PADDING);
  return absl::OkStatus();
}

namespace {

// Where a document's records are: a container's "Records" array, an array, an
// EventBridge envelope's "detail", or the document itself. One pass over the
// keys; key lengths are compared first, so a plain record's keys cost little.
struct DocumentRecords {
  bool is_array = false;
  simdjson::dom::array array;
  element single;
};

DocumentRecords RecordsOf(element doc) {
  if (doc.is_array()) return {true, doc.get_array().value_unsafe(), {}};
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) == simdjson::SUCCESS) {
    bool typed = false, have_detail = false;
    element detail;
    for (auto field : obj) {
      const std::string_view key = field.key;
      if (internal::KeyIs(key, "Records") && field.value.is_array()) {
        return {true, field.value.get_array().value_unsafe(), {}};
      }
      if (internal::KeyIs(key, "detail-type")) typed = true;
      if (internal::KeyIs(key, "detail") && field.value.is_object()) {
        detail = field.value;
        have_detail = true;
      }
    }
    if (typed && have_detail) return {false, {}, detail};
  }
  return {false, {}, doc};
}

absl::Status TooManyRecords(size_t max_records) {
  return absl::ResourceExhaustedError(absl::StrCat("holds more than ", max_records, " records"));
}

}  // namespace

size_t RecordReader::CountRecords(element doc) const {
  const DocumentRecords records = RecordsOf(doc);
  return records.is_array ? records.array.size() : 1;
}

absl::Status RecordReader::EmitDocument(element doc, size_t& index, Callback fn) {
  const DocumentRecords records = RecordsOf(doc);
  if (!records.is_array) {
    if (index >= max_records_) return TooManyRecords(max_records_);
    fn(index++, RecordOrError{records.single});
    return absl::OkStatus();
  }
  for (element r : records.array) {
    if (index >= max_records_) return TooManyRecords(max_records_);
    fn(index++, RecordOrError{UnwrapEventBridge(r)});
  }
  return absl::OkStatus();
}

absl::Status RecordReader::ReadJsonLines(std::string_view text, size_t& index, Callback fn) {
  // `text` lives in a padded buffer, so each line can be parsed in place.
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t start = SkipSpace(line, 0);
    if (start == line.size()) continue;  // blank line
    if (index >= max_records_) return TooManyRecords(max_records_);
    element doc;
    auto error = parser_.parse(line.data(), line.size(), false).get(doc);
    if (error) {
      RecordError err{"record", absl::StrCat("invalid JSON: ", simdjson::error_message(error))};
      fn(index++, RecordOrError{element(), &err});
      continue;
    }
    if (absl::Status st = EmitDocument(doc, index, fn); !st.ok()) return st;
  }
  return absl::OkStatus();
}

ContainerHint HintFromName(std::string_view path) {
  if (path.size() > 3 && path.substr(path.size() - 3) == ".gz") path.remove_suffix(3);
  for (std::string_view ext : {".jsonl", ".ndjson"}) {
    if (path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext) {
      return ContainerHint::kJsonLines;
    }
  }
  return ContainerHint::kUnknown;
}

bool RecordReader::LooksLikeJsonLines(std::string_view text, bool first_only) {
  size_t pos = SkipSpace(text, 0);
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return false;  // the last line: nothing follows
    const std::string_view line = text.substr(pos, end - pos);
    element doc;
    if (!parser_.parse(line.data(), line.size(), false).get(doc) && doc.is_object()) {
      return SkipSpace(text, end) != text.size();
    }
    if (first_only) return false;
    pos = SkipSpace(text, end);
  }
  return false;
}

absl::Status RecordReader::Read(std::string_view bytes, Callback fn, ContainerHint hint) {
  if (absl::StatusOr<size_t> n = Open(bytes, hint, ReadLimits{}); !n.ok()) return n.status();
  return ForEach(fn);
}

absl::StatusOr<size_t> RecordReader::Open(std::string_view bytes, ContainerHint hint,
                                          const ReadLimits& limits) {
  opened_ = Opened::kNothing;
  max_records_ = limits.max_records;
  if (IsGzip(bytes)) {
    if (absl::Status st = Gunzip(bytes, inflated_, limits.max_inflated_bytes); !st.ok()) return st;
    bytes = inflated_;
  } else if (bytes.data() != file_.data() || !HasPadding(file_)) {
    bytes = Padded(bytes, file_);
  }
  text_ = bytes;
  const size_t start = SkipSpace(bytes, 0);
  if (start == bytes.size()) return 0;  // empty input: no records
  size_t count = 0;
  if (hint != ContainerHint::kJsonLines && !LooksLikeJsonLines(bytes, /*first_only=*/true)) {
    const auto error = parser_.parse(bytes.data(), bytes.size(), false).get(doc_);
    if (!error) {
      count = CountRecords(doc_);
      if (count > max_records_) return TooManyRecords(max_records_);
      opened_ = Opened::kDocument;
      return count;
    }
    // Not one document: JSON lines whose first lines are corrupt, if any later
    // line is a record; each bad line is then one rejected record.
    if (!LooksLikeJsonLines(bytes, /*first_only=*/false)) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a CloudTrail container: invalid JSON (", simdjson::error_message(error),
                       ") and no line of it is a JSON object; first byte '",
                       Printable(bytes.substr(start, 1)), "' at byte ", start));
    }
  }
  for (size_t pos = 0; pos < bytes.size();) {
    size_t end = bytes.find('\n', pos);
    if (end == std::string_view::npos) end = bytes.size();
    if (SkipSpace(bytes.substr(pos, end - pos), 0) != end - pos) ++count;
    pos = end + 1;
  }
  if (count > max_records_) return TooManyRecords(max_records_);
  opened_ = Opened::kLines;
  return count;
}

absl::Status RecordReader::ForEach(Callback fn) {
  size_t index = 0;
  const Opened opened = std::exchange(opened_, Opened::kNothing);
  if (opened == Opened::kLines) return ReadJsonLines(text_, index, fn);
  if (opened == Opened::kDocument) return EmitDocument(doc_, index, fn);
  return absl::OkStatus();
}

void RecordReader::Trim(size_t keep_bytes) {
  const auto trim = [keep_bytes](std::string& s) {
    if (s.capacity() > keep_bytes) std::string().swap(s);
  };
  trim(inflated_);
  trim(file_);
  if (parser_.capacity() > keep_bytes) parser_ = simdjson::dom::parser();
  opened_ = Opened::kNothing;
}

namespace {

// Bytes of a file, plain or gzip-compressed, in pieces.
class FileSource {
 public:
  explicit FileSource(FILE* f) : f_(f) {}
  ~FileSource() {
    if (gzip_) inflateEnd(&zs_);
  }
  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  bool gzip() const { return gzip_; }

  // Appends up to `max` bytes to `out`; returns how many (0 at the end).
  absl::StatusOr<size_t> Read(UnitBuffer& out, size_t max) {
    if (!started_) {
      // The first two bytes say whether it is gzip. They are kept, not read
      // again: a pipe (/dev/stdin, a process substitution) cannot rewind.
      started_ = true;
      in_.resize(2);
      in_.resize(std::fread(in_.data(), 1, 2, f_));
      gzip_ = in_.size() == 2 && static_cast<unsigned char>(in_[0]) == 0x1f &&
              static_cast<unsigned char>(in_[1]) == 0x8b;
      if (gzip_) {
        if (inflateInit2(&zs_, 15 + 32) != Z_OK) return absl::InternalError("gzip: init failed");
        zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
        zs_.avail_in = static_cast<uInt>(in_.size());
      }
    }
    const size_t old = out.size();
    char* const to = out.Extend(max);  // not zero-filled: what is read overwrites it
    size_t n = 0;
    if (!gzip_) {
      const size_t head = std::min(max, in_.size());  // the bytes read to tell
      std::copy_n(in_.data(), head, to);
      in_.erase(0, head);
      n = head + std::fread(to + head, 1, max - head, f_);
    } else {
      zs_.next_out = reinterpret_cast<Bytef*>(to);
      zs_.avail_out = static_cast<uInt>(max);
      while (zs_.avail_out > 0 && !done_) {
        if (zs_.avail_in == 0) {
          in_.resize(1 << 16);
          zs_.avail_in = static_cast<uInt>(std::fread(in_.data(), 1, in_.size(), f_));
          zs_.next_in = reinterpret_cast<Bytef*>(in_.data());
          if (zs_.avail_in == 0) {
            if (!stream_ended_) return absl::InvalidArgumentError("gzip: truncated stream");
            done_ = true;
            break;
          }
        }
        if (stream_ended_) {  // another gzip member follows
          inflateReset(&zs_);
          stream_ended_ = false;
        }
        const int rc = inflate(&zs_, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
          stream_ended_ = true;
        } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
          return absl::InvalidArgumentError(
              absl::StrCat("gzip: corrupt stream", zs_.msg ? ": " : "", zs_.msg ? zs_.msg : ""));
        }
      }
      n = max - zs_.avail_out;
    }
    out.Truncate(old + n);
    if (std::ferror(f_)) return absl::InternalError("read error");
    return n;
  }

 private:
  FILE* f_;
  bool started_ = false, gzip_ = false, stream_ended_ = false, done_ = false;
  z_stream zs_{};
  std::string in_;
};

constexpr size_t kChunk = 4 << 20;

}  // namespace

absl::Status RecordReader::ReadFile(const std::string& path, Callback fn) {
  size_t base = 0;
  UnitBuffer buffer;
  return SplitFile(
      path, kChunk, [&] { return std::move(buffer); },
      [&](InputUnit& unit) {
        size_t count = 0;
        absl::Status st = ReadUnit(unit, [&](size_t index, const RecordOrError& r) {
          count = index + 1;
          fn(base + index, r);
        });
        base += count;
        buffer = std::move(unit.bytes);  // the next unit reuses it
        return st.ok() ? st : absl::Status(st.code(), absl::StrCat(path, ": ", st.message()));
      });
}

absl::Status RecordReader::ReadUnit(const InputUnit& unit, Callback fn) {
  max_records_ = SIZE_MAX;
  size_t index = 0;
  if (unit.hint == ContainerHint::kJsonLines &&
      unit.bytes.capacity() >= unit.bytes.size() + simdjson::SIMDJSON_PADDING) {
    return ReadJsonLines(unit.bytes.view(), index, fn);
  }
  return Read(unit.bytes.view(), fn, unit.hint);
}

absl::Status RecordReader::SplitFile(const std::string& path, size_t unit_bytes,
                                     absl::FunctionRef<UnitBuffer()> new_buffer, UnitFn fn) {
  unit_bytes = std::max<size_t>(unit_bytes, 1);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  FileSource source(f.get());
  auto fail = [&](const absl::Status& st) {
    return absl::Status(st.code(), absl::StrCat(path, ": ", st.message()));
  };
  InputUnit unit;
  unit.bytes = new_buffer();
  unit.bytes.clear();
  unit.bytes.reserve(unit_bytes + simdjson::SIMDJSON_PADDING);
  absl::StatusOr<size_t> n = source.Read(unit.bytes, unit_bytes);
  if (!n.ok()) return fail(n.status());

  const bool lines = HintFromName(path) == ContainerHint::kJsonLines ||
                     LooksLikeJsonLines(unit.bytes.view(), /*first_only=*/true);
  if (!lines) {
    // A document is read whole (a DOM needs it all).
    while (*n > 0) {
      unit.bytes.reserve(unit.bytes.size() + unit_bytes + simdjson::SIMDJSON_PADDING);
      n = source.Read(unit.bytes, unit_bytes);
      if (!n.ok()) return fail(n.status());
    }
    unit.bytes.reserve(unit.bytes.size() + simdjson::SIMDJSON_PADDING);
    unit.hint = ContainerHint::kUnknown;
    return fn(unit);
  }
  // JSON lines: each unit ends at its last newline; the partial line after it
  // starts the next unit, which grows only for a line longer than a unit.
  std::string carry;
  while (true) {
    const bool at_end = *n == 0;
    const size_t last_newline = unit.bytes.view().rfind('\n');
    const size_t complete = at_end                              ? unit.bytes.size()
                            : last_newline == std::string::npos ? 0
                                                                : last_newline + 1;
    if (complete > 0) {
      carry.assign(unit.bytes.view().substr(complete));
      unit.bytes.Truncate(complete);
      unit.hint = ContainerHint::kJsonLines;
      if (absl::Status st = fn(unit); !st.ok()) return st;
      if (at_end) return absl::OkStatus();
      unit.bytes = new_buffer();
      unit.bytes.reserve(unit_bytes + simdjson::SIMDJSON_PADDING);
      unit.bytes.assign(carry);
    }
    if (at_end) return absl::OkStatus();
    const size_t want = std::max(unit_bytes, unit.bytes.size());  // grow for a very long line
    unit.bytes.reserve(unit.bytes.size() + want + simdjson::SIMDJSON_PADDING);
    n = source.Read(unit.bytes, want);
    if (!n.ok()) return fail(n.status());
  }
}

}  // namespace trailsentry::engine
