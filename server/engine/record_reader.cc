#include "server/engine/absl_view.h"
#include "server/engine/record_reader.h"

#include <zlib.h>

#include <cstdio>
#include <memory>

#include "absl/strings/str_cat.h"

namespace trailsentry::engine {
namespace {

using simdjson::dom::element;

size_t SkipSpace(std::string_view s, size_t pos) {
  if (pos == 0 && s.substr(0, 3) == "\xEF\xBB\xBF") pos = 3;  // UTF-8 byte order mark
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

absl::Status Gunzip(std::string_view in, std::string& out) {
  out.clear();
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return absl::InternalError("gzip: inflateInit failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  size_t produced = 0;
  out.resize(std::max<size_t>(in.size() * 4, 4096));
  int rc = Z_OK;
  while (true) {
    if (produced == out.size()) out.resize(out.size() * 2);
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0) break;
      inflateReset(&zs);  // another gzip member follows
      continue;
    }
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated stream
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
  }
  const bool truncated = rc != Z_STREAM_END;
  const std::string msg = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (truncated) {
    return absl::InvalidArgumentError(
        absl::StrCat("gzip: corrupt or truncated stream after ", produced, " bytes",
                     msg.empty() ? "" : ": ", msg));
  }
  out.resize(produced);
  out.reserve(produced + simdjson::SIMDJSON_PADDING);
  return absl::OkStatus();
}

void RecordReader::EmitDocument(element doc, size_t& index, Callback fn) {
  simdjson::dom::object obj;
  if (doc.get_object().get(obj) == simdjson::SUCCESS) {
    simdjson::dom::array records;
    if (obj["Records"].get_array().get(records) == simdjson::SUCCESS) {
      for (element r : records) fn(index++, RecordOrError{UnwrapEventBridge(r)});
      return;
    }
  }
  fn(index++, RecordOrError{UnwrapEventBridge(doc)});
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
    element doc;
    auto error = parser_.parse(line.data(), line.size(), false).get(doc);
    if (error) {
      RecordError err{"record", absl::StrCat("invalid JSON: ", simdjson::error_message(error))};
      fn(index++, RecordOrError{element(), &err});
      continue;
    }
    EmitDocument(doc, index, fn);
  }
  return absl::OkStatus();
}

absl::Status RecordReader::Read(std::string_view bytes, Callback fn) {
  if (IsGzip(bytes)) {
    if (absl::Status st = Gunzip(bytes, inflated_); !st.ok()) return st;
    bytes = inflated_;
  } else if (bytes.data() != file_.data() || !HasPadding(file_)) {
    bytes = Padded(bytes, file_);
  }
  size_t index = 0;
  const size_t start = SkipSpace(bytes, 0);
  if (start == bytes.size()) return absl::OkStatus();  // empty input: no records
  if (bytes[start] == '[') {
    element doc;
    if (auto error = parser_.parse(bytes.data(), bytes.size(), false).get(doc)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid JSON array: ", simdjson::error_message(error)));
    }
    for (element r : doc.get_array()) fn(index++, RecordOrError{UnwrapEventBridge(r)});
    return absl::OkStatus();
  }
  if (bytes[start] != '{') {
    return absl::InvalidArgumentError(absl::StrCat(
        "not a CloudTrail container: expected '{' or '[' at byte ", start, ", found '",
        AbslView(bytes.substr(start, 1)), "'"));
  }
  // One document (S3 delivery file, envelope, single pretty-printed record) or
  // JSON lines: try the whole input as one document first.
  element doc;
  auto error = parser_.parse(bytes.data(), bytes.size(), false).get(doc);
  if (!error) {
    EmitDocument(doc, index, fn);
    return absl::OkStatus();
  }
  return ReadJsonLines(bytes, index, fn);
}

absl::Status RecordReader::ReadFile(const std::string& path, Callback fn) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  if (std::fseek(f.get(), 0, SEEK_END) != 0) return absl::InternalError(path + ": cannot seek");
  const long size = std::ftell(f.get());
  if (size < 0) return absl::InternalError(path + ": cannot tell size");
  std::rewind(f.get());
  file_.reserve(static_cast<size_t>(size) + simdjson::SIMDJSON_PADDING);
  file_.resize(static_cast<size_t>(size));
  if (size > 0 && std::fread(file_.data(), 1, file_.size(), f.get()) != file_.size()) {
    return absl::InternalError(absl::StrCat(path, ": short read"));
  }
  absl::Status st = Read(file_, fn);
  if (!st.ok()) return absl::Status(st.code(), absl::StrCat(path, ": ", st.message()));
  return st;
}

}  // namespace trailsentry::engine
