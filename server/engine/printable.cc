#include "server/engine/printable.h"

#include <algorithm>
#include <cstdint>

namespace trailsentry::engine {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when the byte
// there does not start one (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  const uint8_t c = b(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (b(k) < 0x80 || b(k) > 0xBF) return 0;
  }
  return n;
}

// A control character: C0, DEL, or C1 (U+0080..U+009F, encoded C2 80..C2 9F).
bool IsControl(std::string_view s, size_t i, size_t n) {
  const auto c = static_cast<uint8_t>(s[i]);
  if (n == 1) return c < 0x20 || c == 0x7F;
  return n == 2 && c == 0xC2 && static_cast<uint8_t>(s[i + 1]) <= 0x9F;
}

void AppendEscaped(uint8_t c, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (c) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
  }
}

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = Utf8Length(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool IsPrintable(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = Utf8Length(bytes, i);
    if (n == 0 || IsControl(bytes, i, n)) return false;
    i += n;
  }
  return true;
}

std::string Printable(std::string_view bytes, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(bytes.size(), max_bytes) + 8);
  for (size_t i = 0; i < bytes.size();) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    const size_t n = Utf8Length(bytes, i);
    if (n == 0) {
      AppendEscaped(static_cast<uint8_t>(bytes[i]), out);
      ++i;
    } else if (IsControl(bytes, i, n)) {
      for (size_t k = 0; k < n; ++k) AppendEscaped(static_cast<uint8_t>(bytes[i + k]), out);
      i += n;
    } else {
      out.append(bytes.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace trailsentry::engine
