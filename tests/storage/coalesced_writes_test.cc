// internal::CoalescedWrites: a batch's profile, baseline and seen-only writes,
// coalesced per key and handed out in key order.
#include "storage/internal/coalesced_writes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "storage/keys.h"

namespace trailsentry::testing {
namespace {

using engine::BaselineEntry;
using storage::internal::CoalescedWrites;
using storage::internal::LastOwner;
using storage::internal::Owner;
using storage::internal::SeenEvent;
namespace keys = storage::keys;

std::vector<std::pair<std::string, BaselineEntry>> Latest(CoalescedWrites& w) {
  std::vector<std::pair<std::string, BaselineEntry>> out;
  w.ForEachLatest([&](const storage::internal::LatestKey& k, const BaselineEntry& e) {
    std::string key(1, k.cf);
    key.append(k.owner);
    key.append(k.network);
    out.emplace_back(std::move(key), e);
  });
  return out;
}

struct SeenOut {
  std::string key;
  std::vector<SeenEvent> seen;
  bool operator==(const SeenOut&) const = default;
};

std::vector<SeenOut> Seen(CoalescedWrites& w) {
  std::vector<SeenOut> out;
  w.ForEachSeen([&](std::string_view key, std::span<const SeenEvent> seen) {
    out.push_back({std::string(key), {seen.begin(), seen.end()}});
  });
  return out;
}

// What a model of puts (key -> last entry) and seen events (identity key ->
// events as added) says the writes hand out: keys in order, each identity's
// events ascending, each once.
std::vector<std::pair<std::string, BaselineEntry>> WantLatest(
    const std::map<std::string, BaselineEntry>& model) {
  return {model.begin(), model.end()};
}
std::vector<SeenOut> WantSeen(std::map<std::string, std::vector<SeenEvent>> model) {
  std::vector<SeenOut> want;
  for (auto& [key, events] : model) {
    std::sort(events.begin(), events.end());
    events.erase(std::unique(events.begin(), events.end()), events.end());
    want.push_back({key, std::move(events)});
  }
  return want;
}

// An owner whose key is `key` (the test's strings outlive it).
Owner OwnerOf(const std::string& key) { return {key, engine::StableHash128Of(key)}; }

keys::NetworkBytes Net(std::string_view cidr) {
  return keys::EncodeNetwork(engine::Network::ParseCidr(cidr).value());
}

// A latest-entry key: its column family byte, its owner's key, its network.
std::string Key(char cf, std::string_view owner, const keys::NetworkBytes& network = {}) {
  std::string key(1, cf);
  key.append(owner);
  key.append(network.view());
  return key;
}

TEST(CoalescedWritesTest, EachKeyKeepsItsLastEntryInKeyOrder) {
  CoalescedWrites w;
  EXPECT_TRUE(w.empty());
  // Keys that share prefixes, put out of order and again; an embedded NUL is a
  // byte like the others.
  const std::string a = "a", ab = "ab", b = "b", zz = "zz", a_nul("a\0", 2);
  w.PutLatest(2, OwnerOf(b), {}, {1, 1, 1});
  w.PutLatest(1, OwnerOf(zz), {}, {2, 2, 1});
  w.PutLatest(2, OwnerOf(a), {}, {3, 3, 1});
  w.PutLatest(2, OwnerOf(ab), {}, {4, 4, 1});
  w.PutLatest(2, OwnerOf(b), {}, {1, 5, 2});
  w.PutLatest(2, OwnerOf(a_nul), {}, {6, 6, 1});
  EXPECT_FALSE(w.empty());
  const std::vector<std::pair<std::string, BaselineEntry>> want = {
      {Key(1, "zz"), {2, 2, 1}}, {Key(2, "a"), {3, 3, 1}}, {Key(2, a_nul), {6, 6, 1}},
      {Key(2, "ab"), {4, 4, 1}}, {Key(2, "b"), {1, 5, 2}},
  };
  EXPECT_EQ(Latest(w), want);
  EXPECT_EQ(Latest(w), want);  // handing them out changes nothing
}

TEST(CoalescedWritesTest, AnOwnersNetworksAndFamiliesAreEntriesOfTheirOwn) {
  CoalescedWrites w;
  const std::string alice = "alice";
  const Owner o = OwnerOf(alice);
  w.PutLatest(2, o, Net("203.0.113.0/24"), {1, 1, 1});
  w.PutLatest(2, o, Net("2001:db8::/64"), {2, 2, 1});
  w.PutLatest(2, o, Net("198.51.100.0/24"), {3, 3, 1});
  w.PutLatest(2, o, Net("203.0.113.0/25"), {4, 4, 1});  // same address, another prefix
  w.PutLatest(1, o, {}, {5, 5, 1});
  w.PutLatest(3, o, Net("203.0.113.0/24"), {6, 6, 1});
  w.PutLatest(2, o, Net("203.0.113.0/24"), {1, 7, 2});  // the first again
  std::vector<std::pair<std::string, BaselineEntry>> want = {
      {Key(1, alice), {5, 5, 1}},
      {Key(2, alice, Net("203.0.113.0/24")), {1, 7, 2}},
      {Key(2, alice, Net("2001:db8::/64")), {2, 2, 1}},
      {Key(2, alice, Net("198.51.100.0/24")), {3, 3, 1}},
      {Key(2, alice, Net("203.0.113.0/25")), {4, 4, 1}},
      {Key(3, alice, Net("203.0.113.0/24")), {6, 6, 1}},
  };
  std::sort(want.begin(), want.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  EXPECT_EQ(Latest(w), want);
}

TEST(CoalescedWritesTest, SeenEventsStayWithTheirIdentityAscendingEachOnce) {
  CoalescedWrites w;
  const std::string alice = "alice", bob = "bob";
  w.AddSeen(OwnerOf(bob), 50, 0x10);
  w.AddSeen(OwnerOf(alice), 30, 0x1);
  w.AddSeen(OwnerOf(bob), 40, 0x20);  // older than bob's first
  w.AddSeen(OwnerOf(alice), 31, 0x2);
  w.AddSeen(OwnerOf(alice), 29, 0x4);
  w.AddSeen(OwnerOf(alice), 30, 0x1);  // again: once
  w.AddSeen(OwnerOf(alice), 30, 0x0);  // the same time, a lower id: before it
  const std::vector<SeenOut> want = {
      {"alice", {{29, 0x4}, {30, 0x0}, {30, 0x1}, {31, 0x2}}},
      {"bob", {{40, 0x20}, {50, 0x10}}},
  };
  EXPECT_EQ(Seen(w), want);
  EXPECT_EQ(Seen(w), want);
}

TEST(CoalescedWritesTest, DroppedKeysAreForgottenAndWrittenAfreshAfter) {
  CoalescedWrites w;
  // Owner keys as the store builds them: "alice" is a prefix of the name
  // "alice2", not of its key, so dropping alice keeps alice2's entries.
  const std::string alice = keys::Identity("t", "alice"), alice2 = keys::Identity("t", "alice2"),
                    bob = keys::Identity("t", "bob");
  const Owner a = OwnerOf(alice);
  w.PutLatest(1, a, {}, {1, 1, 1});
  w.PutLatest(2, a, Net("203.0.113.0/24"), {1, 1, 1});
  w.PutLatest(3, a, Net("203.0.113.0/24"), {1, 1, 1});  // another family: kept
  w.PutLatest(1, OwnerOf(alice2), {}, {1, 1, 1});       // another owner: kept
  w.PutLatest(2, OwnerOf(alice2), Net("203.0.113.0/24"), {1, 1, 1});
  w.PutLatest(1, OwnerOf(bob), {}, {1, 1, 1});
  w.AddSeen(a, 10, 1);
  w.AddSeen(OwnerOf(bob), 11, 2);
  w.AddSeen(OwnerOf(alice2), 11, 5);
  w.AddSeen(a, 12, 3);
  w.Drop(a, [](char cf) { return cf != 3; });
  // Written again after the drop: only what came after it.
  w.PutLatest(2, a, Net("203.0.113.0/24"), {7, 7, 1});
  w.AddSeen(a, 13, 4);
  std::vector<std::pair<std::string, BaselineEntry>> want_latest = {
      {Key(1, alice2), {1, 1, 1}},
      {Key(1, bob), {1, 1, 1}},
      {Key(2, alice, Net("203.0.113.0/24")), {7, 7, 1}},
      {Key(2, alice2, Net("203.0.113.0/24")), {1, 1, 1}},
      {Key(3, alice, Net("203.0.113.0/24")), {1, 1, 1}},
  };
  std::sort(want_latest.begin(), want_latest.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  EXPECT_EQ(Latest(w), want_latest);
  std::vector<SeenOut> want_seen = {
      {alice, {{13, 4}}},
      {alice2, {{11, 5}}},
      {bob, {{11, 2}}},
  };
  std::sort(want_seen.begin(), want_seen.end(),
            [](const SeenOut& x, const SeenOut& y) { return x.key < y.key; });
  EXPECT_EQ(Seen(w), want_seen);
}

TEST(CoalescedWritesTest, ManyOwnersFamiliesAndNetworksComeOutInByteOrder) {
  // Owners as the store builds them, from names that start one another and
  // tenants of different lengths; each family with networks of both kinds.
  std::vector<std::string> owners;
  for (const char* tenant : {"", "t", "tenant-b"}) {
    for (const char* name : {"a", "ab", "abc", "b", "arn:aws:iam::1:user/x",
                             "arn:aws:iam::1:user/xy", "123456789012"}) {
      owners.push_back(keys::Identity(tenant, name));
    }
  }
  std::vector<keys::NetworkBytes> networks = {{}};
  for (const char* cidr : {"10.0.0.0/8", "10.0.0.0/16", "10.1.0.0/16", "203.0.113.0/24",
                           "2001:db8::/64", "2001:db8:1::/64", "2001:db8::/48"}) {
    networks.push_back(Net(cidr));
  }
  std::mt19937 random(7);
  for (int round = 0; round < 3; ++round) {
    CoalescedWrites w;
    std::map<std::string, BaselineEntry> want_latest;
    std::map<std::string, std::vector<SeenEvent>> want_seen;
    for (int i = 0; i < 2000; ++i) {
      const std::string& key = owners[random() % owners.size()];
      const Owner o = OwnerOf(key);
      if (random() % 4 == 0) {
        const int64_t time = static_cast<int64_t>(random() % 1000);
        w.AddSeen(o, time, static_cast<uint64_t>(i));
        want_seen[key].push_back({time, static_cast<uint64_t>(i)});
        continue;
      }
      const char cf = static_cast<char>(1 + random() % 3);
      const keys::NetworkBytes& net = networks[random() % networks.size()];
      const BaselineEntry e{round, i, 1};
      w.PutLatest(cf, o, net, e);
      want_latest[Key(cf, key, net)] = e;
    }
    EXPECT_EQ(Latest(w), WantLatest(want_latest));
    EXPECT_EQ(Seen(w), WantSeen(want_seen));
  }
}

// Puts, drops and puts again after a drop, on an identity with few entries
// and owners with many (an account's networks), against a map of what each
// key last got.
TEST(CoalescedWritesTest, OwnersWithFewOrManyEntriesKeepTheLastOfEachThroughDropsAndHints) {
  const std::vector<std::string> owners = {keys::Identity("t", "few"), keys::Identity("t", "many"),
                                           keys::Identity("t", "account")};
  std::vector<keys::NetworkBytes> networks = {{}};
  for (int i = 0; i < 40; ++i) networks.push_back(Net(absl::StrCat("10.0.", i, ".0/24")));
  std::mt19937 random(11);
  for (int round = 0; round < 20; ++round) {
    CoalescedWrites w;
    std::map<std::string, BaselineEntry> want_latest;
    std::map<std::string, std::vector<SeenEvent>> want_seen;
    for (int i = 0; i < 3000; ++i) {
      const size_t which = random() % owners.size();
      const std::string& key = owners[which];
      // "few" has 2 families x 3 networks; the others up to 3 x 41.
      const size_t spread = which == 0 ? 3 : 1 + random() % networks.size();
      const int op = static_cast<int>(random() % 100);
      if (op < 2) {
        const char kept = static_cast<char>(1 + random() % 3);  // a family the drop keeps
        w.Drop(OwnerOf(key), [&](char cf) { return cf != kept; });
        for (auto it = want_latest.begin(); it != want_latest.end();) {
          const bool owned = it->first.size() >= key.size() + 1 &&
                             it->first.compare(1, key.size(), key) == 0 && it->first[0] != kept;
          it = owned ? want_latest.erase(it) : std::next(it);
        }
        want_seen.erase(key);
      } else if (op < 20) {
        const int64_t time = static_cast<int64_t>(random() % 1000);
        w.AddSeen(OwnerOf(key), time, static_cast<uint64_t>(i));
        want_seen[key].push_back({time, static_cast<uint64_t>(i)});
      } else {
        const char cf = static_cast<char>(1 + random() % (which == 0 ? 2 : 3));
        const keys::NetworkBytes& net = networks[random() % spread];
        const BaselineEntry e{round, i, 1};
        // Hints (Prefetch) change no write: half of the puts come after a hint
        // for their own entry, some after hints for others (another network,
        // family or owner), mixed in the hints kept.
        if (random() % 2 == 0) w.Prefetch(cf, OwnerOf(key), net);
        for (int h = static_cast<int>(random() % 3); h > 0; --h) {
          w.Prefetch(static_cast<char>(1 + random() % 3), OwnerOf(owners[random() % owners.size()]),
                     networks[random() % networks.size()]);
        }
        w.PutLatest(cf, OwnerOf(key), net, e);
        want_latest[Key(cf, key, net)] = e;
      }
    }
    EXPECT_EQ(Latest(w), WantLatest(want_latest)) << "round " << round;
    EXPECT_EQ(Seen(w), WantSeen(want_seen)) << "round " << round;
  }
}

TEST(CoalescedWritesTest, ClearedItStartsEmptyAndIsReused) {
  CoalescedWrites w;
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) names.push_back(absl::StrCat("identity-", i));
  for (int round = 0; round < 3; ++round) {
    // Enough keys that the tables and the arena grow and are reused.
    for (int i = 0; i < 5000; ++i) {
      const Owner o = OwnerOf(names[i % 1000]);
      w.PutLatest(1, o, {}, {round, i, 1});
      w.AddSeen(o, i, static_cast<uint64_t>(i));
    }
    const auto latest = Latest(w);
    ASSERT_EQ(latest.size(), 1000u);
    for (const auto& [key, e] : latest) {
      EXPECT_EQ(e.first_seen, round);
      EXPECT_GE(e.last_seen, 4000);  // the last of each key's five puts
    }
    const auto seen = Seen(w);
    ASSERT_EQ(seen.size(), 1000u);
    for (const SeenOut& s : seen) EXPECT_EQ(s.seen.size(), 5u);
    w.Clear();
    EXPECT_TRUE(w.empty());
    EXPECT_TRUE(Latest(w).empty());
    EXPECT_TRUE(Seen(w).empty());
  }
}

TEST(CoalescedWritesTest, LastOwnerIsTheKeyOfItsTenantAndName) {
  LastOwner last;
  for (int round = 0; round < 2; ++round) {
    for (const auto& [tenant, name] :
         std::vector<std::pair<std::string, std::string>>{{"default", "arn:a"},
                                                          {"default", "arn:a"},
                                                          {"default", "arn:ab"},
                                                          {"other", "arn:ab"},
                                                          {"default", "arn:a"},
                                                          {"defaul", "tarn:a"}}) {
      const Owner o = last.Of(tenant, name);
      const std::string key = keys::Identity(tenant, name);
      EXPECT_EQ(o.key, key) << tenant << " " << name;
      EXPECT_EQ(o.hash, engine::StableHash128Of(key)) << tenant << " " << name;
    }
  }
}

}  // namespace
}  // namespace trailsentry::testing
