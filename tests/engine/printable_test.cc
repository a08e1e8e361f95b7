// Printable / IsValidUtf8: what reaches a log line or a reply is one line of UTF-8.
#include "server/engine/printable.h"

#include <gtest/gtest.h>

#include <string>

namespace trailsentry::engine {
namespace {

TEST(Printable, KeepsTextAndEscapesWhatCouldForgeALine) {
  EXPECT_EQ(Printable("arn:aws:iam::1:user/alice"), "arn:aws:iam::1:user/alice");
  EXPECT_EQ(Printable("müller — 東京 🚀"), "müller — 東京 🚀");
  EXPECT_EQ(Printable("a\n[error] FORGED: wiping"), "a\\n[error] FORGED: wiping");
  EXPECT_EQ(Printable("\r\t\x1b[31m\x7f"), "\\r\\t\\x1b[31m\\x7f");
  EXPECT_EQ(Printable("c1\xC2\x85"), "c1\\xc2\\x85");  // U+0085 NEXT LINE
  EXPECT_EQ(Printable(std::string("nul\0x", 5)), "nul\\x00x");
}

TEST(Printable, EscapesInvalidUtf8ByteByByte) {
  EXPECT_EQ(Printable("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(Printable("\xC0\xAF"), "\\xc0\\xaf");                    // overlong '/'
  EXPECT_EQ(Printable("\xED\xA0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(Printable("\xF4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(Printable("ok\xE2\x82"), "ok\\xe2\\x82");                // cut short
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    EXPECT_TRUE(IsPrintable(Printable(one))) << b;
    EXPECT_TRUE(IsValidUtf8(Printable(one))) << b;
  }
}

TEST(Printable, CutsLongInputOnACharacterBoundary) {
  const std::string s = Printable(std::string(5000, 'x'), 100);
  EXPECT_EQ(s, std::string(100, 'x') + "...");
  const std::string accents = Printable(std::string(300, 'a') + std::string(100, '\n'), 310);
  EXPECT_TRUE(IsPrintable(accents));
  EXPECT_LE(accents.size(), 315u);
}

TEST(IsValidUtf8, AcceptsUtf8AndControlCharacters) {
  EXPECT_TRUE(IsValidUtf8("line\nbreak 東京 🚀"));
  EXPECT_FALSE(IsPrintable("line\nbreak"));
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x9A"));
}

}  // namespace
}  // namespace trailsentry::engine
