// internal::CoalescedWrites: a batch's profile, baseline and seen-only writes,
// coalesced per key and handed out in key order.
#include "storage/internal/coalesced_writes.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/keys.h"

namespace trailsentry::testing {
namespace {

using engine::BaselineEntry;
using storage::internal::CoalescedWrites;

std::vector<std::pair<std::string, BaselineEntry>> Latest(CoalescedWrites& w) {
  std::vector<std::pair<std::string, BaselineEntry>> out;
  w.ForEachLatest([&](std::string_view key, const BaselineEntry& e) { out.emplace_back(key, e); });
  return out;
}

struct SeenOut {
  std::string key;
  int64_t newest;
  uint64_t ids;
  std::string packed;
  bool operator==(const SeenOut&) const = default;
};

std::vector<SeenOut> Seen(CoalescedWrites& w) {
  std::vector<SeenOut> out;
  w.ForEachSeen([&](std::string_view key, int64_t newest, uint64_t ids, std::string_view packed) {
    out.push_back({std::string(key), newest, ids, std::string(packed)});
  });
  return out;
}

std::string Packed(std::vector<std::pair<int64_t, uint64_t>> pairs) {
  std::string out;
  for (const auto& [time, id] : pairs) {
    storage::keys::AppendBigEndian64(out, static_cast<uint64_t>(time));
    storage::keys::AppendBigEndian64(out, id);
  }
  return out;
}

// A latest-entry key: its column family byte, then the rest.
std::string Key(char cf, std::string_view rest) {
  std::string key(1, cf);
  key.append(rest);
  return key;
}

TEST(CoalescedWritesTest, EachKeyKeepsItsLastEntryInKeyOrder) {
  CoalescedWrites w;
  EXPECT_TRUE(w.empty());
  // Keys that share prefixes, put out of order and again; an embedded NUL is a
  // byte like the others.
  const std::string a_nul("a\0", 2);
  w.PutLatest(Key(2, "b"), {1, 1, 1});
  w.PutLatest(Key(1, "zz"), {2, 2, 1});
  w.PutLatest(Key(2, "a"), {3, 3, 1});
  w.PutLatest(Key(2, "ab"), {4, 4, 1});
  w.PutLatest(Key(2, "b"), {1, 5, 2});
  w.PutLatest(Key(2, a_nul), {6, 6, 1});
  EXPECT_FALSE(w.empty());
  const std::vector<std::pair<std::string, BaselineEntry>> want = {
      {Key(1, "zz"), {2, 2, 1}}, {Key(2, "a"), {3, 3, 1}}, {Key(2, a_nul), {6, 6, 1}},
      {Key(2, "ab"), {4, 4, 1}}, {Key(2, "b"), {1, 5, 2}},
  };
  EXPECT_EQ(Latest(w), want);
  EXPECT_EQ(Latest(w), want);  // handing them out changes nothing
}

TEST(CoalescedWritesTest, SeenPairsStayWithTheirIdentityInTheOrderAdded) {
  CoalescedWrites w;
  w.AddSeen("bob", 50, 0x10);
  w.AddSeen("alice", 30, 0x1);
  w.AddSeen("bob", 40, 0x20);  // older than bob's first: newest stays 50
  w.AddSeen("alice", 31, 0x2);
  w.AddSeen("alice", 29, 0x4);
  const std::vector<SeenOut> want = {
      {"alice", 31, 0x1 ^ 0x2 ^ 0x4, Packed({{30, 0x1}, {31, 0x2}, {29, 0x4}})},
      {"bob", 50, 0x10 ^ 0x20, Packed({{50, 0x10}, {40, 0x20}})},
  };
  EXPECT_EQ(Seen(w), want);
  EXPECT_EQ(Seen(w), want);
}

TEST(CoalescedWritesTest, DroppedKeysAreForgottenAndWrittenAfreshAfter) {
  CoalescedWrites w;
  w.PutLatest(Key(1, "alice"), {1, 1, 1});
  w.PutLatest(Key(2, "aliceN1"), {1, 1, 1});
  w.PutLatest(Key(3, "aliceN1"), {1, 1, 1});  // another family: kept
  w.PutLatest(Key(1, "bob"), {1, 1, 1});
  w.AddSeen("alice", 10, 1);
  w.AddSeen("bob", 11, 2);
  w.AddSeen("alice", 12, 3);
  w.Drop([](std::string_view key) { return key[0] != 3 && key.substr(1).starts_with("alice"); },
         "alice");
  // Written again after the drop: only what came after it.
  w.PutLatest(Key(2, "aliceN1"), {7, 7, 1});
  w.AddSeen("alice", 13, 4);
  const std::vector<std::pair<std::string, BaselineEntry>> want_latest = {
      {Key(1, "bob"), {1, 1, 1}},
      {Key(2, "aliceN1"), {7, 7, 1}},
      {Key(3, "aliceN1"), {1, 1, 1}},
  };
  EXPECT_EQ(Latest(w), want_latest);
  const std::vector<SeenOut> want_seen = {
      {"alice", 13, 4, Packed({{13, 4}})},
      {"bob", 11, 2, Packed({{11, 2}})},
  };
  EXPECT_EQ(Seen(w), want_seen);
}

TEST(CoalescedWritesTest, ClearedItStartsEmptyAndIsReused) {
  CoalescedWrites w;
  for (int round = 0; round < 3; ++round) {
    // Enough keys that the tables and the arena grow and are reused.
    for (int i = 0; i < 5000; ++i) {
      const std::string key = absl::StrCat("identity-", i % 1000);
      w.PutLatest(Key(1, key), {round, i, 1});
      w.AddSeen(key, i, static_cast<uint64_t>(i));
    }
    const auto latest = Latest(w);
    ASSERT_EQ(latest.size(), 1000u);
    for (const auto& [key, e] : latest) {
      EXPECT_EQ(e.first_seen, round);
      EXPECT_GE(e.last_seen, 4000);  // the last of each key's five puts
    }
    const auto seen = Seen(w);
    ASSERT_EQ(seen.size(), 1000u);
    for (const SeenOut& s : seen) EXPECT_EQ(s.packed.size(), 5u * 16);
    w.Clear();
    EXPECT_TRUE(w.empty());
    EXPECT_TRUE(Latest(w).empty());
    EXPECT_TRUE(Seen(w).empty());
  }
}

}  // namespace
}  // namespace trailsentry::testing
