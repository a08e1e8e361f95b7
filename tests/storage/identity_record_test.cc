// Identity records (storage/internal/identity_record.h): the value form of an
// identity's profile, baselines and seen events, and how later merge operands
// lay over earlier ones.
#include "storage/internal/identity_record.h"

#include <gtest/gtest.h>
#include <rocksdb/merge_operator.h>

#include <string>
#include <vector>

#include "server/engine/network.h"

namespace trailsentry::testing {
namespace {

using engine::BaselineEntry;
using storage::internal::IdentityRecord;
using storage::internal::SeenEvent;
namespace internal = storage::internal;

storage::keys::NetworkBytes Bytes(const char* cidr) {
  return storage::keys::EncodeNetwork(engine::Network::ParseCidr(cidr).value());
}

std::string Encoded(const IdentityRecord& r) {
  std::string out;
  internal::EncodeRecord(r, out);
  return out;
}

std::vector<std::string> Networks(const IdentityRecord& r) {
  std::vector<std::string> out;
  for (const auto& [bytes, entry] : r.networks) {
    out.push_back(storage::keys::ParseNetworkBytes(bytes.view())->ToString() + " " +
                  std::to_string(entry.count));
  }
  return out;
}

TEST(IdentityRecordTest, ARecordComesBackAsWritten) {
  const int64_t t = 1773567000000;
  IdentityRecord r;
  r.profile = BaselineEntry{t, t + 5, 7};
  // Times before 1970 and ids with every bit set come back too.
  r.seen = {{-5, ~0ULL}, {t, 0}, {t, 9}, {t + 5, 1ULL << 63}};
  r.networks = {{Bytes("10.0.0.0/24"), {t, t + 1, 2}},
                {Bytes("203.0.113.7/32"), {t + 2, t + 5, 4}},
                {Bytes("2001:db8::/64"), {t + 3, t + 3, 1}}};
  std::string v;
  internal::AppendRecordStart(v, &*r.profile, r.seen);
  for (const auto& [bytes, entry] : r.networks)
    internal::AppendRecordNetwork(v, bytes.view(), entry);
  EXPECT_EQ(v, Encoded(r));
  IdentityRecord back;
  ASSERT_TRUE(internal::DecodeRecord(v, back));
  EXPECT_EQ(back.profile, r.profile);
  EXPECT_EQ(back.seen, r.seen);
  EXPECT_EQ(Networks(back), Networks(r));

  IdentityRecord bare;  // no profile, no seen event, no network
  ASSERT_TRUE(internal::DecodeRecord(Encoded(bare), back));
  EXPECT_FALSE(back.profile.has_value());
  EXPECT_TRUE(back.seen.empty());
  EXPECT_TRUE(back.networks.empty());
  // A schema-3 record (flags 1: no seen events) reads as one without them.
  IdentityRecord schema3 = r;
  schema3.seen.clear();
  ASSERT_EQ(Encoded(schema3)[0], 1);
  ASSERT_TRUE(internal::DecodeRecord(Encoded(schema3), back));
  EXPECT_TRUE(back.seen.empty());
  EXPECT_EQ(Networks(back), Networks(r));
}

TEST(IdentityRecordTest, DamagedOrDisorderedRecordsAreRefused) {
  const int64_t t = 1773567000000;
  IdentityRecord r;
  r.profile = BaselineEntry{t, t, 1};
  r.seen = {{t, 1}, {t + 1, 2}};
  r.networks = {{Bytes("10.0.0.0/24"), {t, t, 1}}, {Bytes("203.0.113.7/32"), {t, t, 1}}};
  const std::string v = Encoded(r);
  IdentityRecord back;
  EXPECT_FALSE(internal::DecodeRecord("", back));
  // A cut between networks leaves a whole record; any other cut is refused.
  IdentityRecord shorter = r;
  shorter.networks.resize(1);
  const size_t one = Encoded(shorter).size();
  shorter.networks.clear();
  const size_t none = Encoded(shorter).size();
  for (size_t cut = 1; cut < v.size(); ++cut) {
    EXPECT_EQ(internal::DecodeRecord(v.substr(0, cut), back), cut == none || cut == one)
        << "cut at " << cut;
  }
  std::string flags = v;
  flags[0] = 4;  // an unknown flag
  EXPECT_FALSE(internal::DecodeRecord(flags, back));
  for (const std::vector<SeenEvent>& seen :
       {std::vector<SeenEvent>{{t + 1, 2}, {t, 1}},  // out of order
        std::vector<SeenEvent>{{t, 1}, {t, 1}}}) {   // twice
    IdentityRecord bad = r;
    bad.seen = seen;
    EXPECT_FALSE(internal::DecodeRecord(Encoded(bad), back));
  }
  std::string no_seen;  // the seen flag with a count of 0
  no_seen.push_back(2);
  no_seen.push_back(0);
  EXPECT_FALSE(internal::DecodeRecord(no_seen, back));
  std::swap(r.networks[0], r.networks[1]);
  EXPECT_FALSE(internal::DecodeRecord(Encoded(r), back));  // out of order
  r.networks[1] = r.networks[0];
  EXPECT_FALSE(internal::DecodeRecord(Encoded(r), back));  // a network twice
  // Schema 2's profile value (three varints of a millisecond time) is no record.
  std::string profile_v2;
  internal::AppendRecordStart(profile_v2, &*r.profile);
  EXPECT_FALSE(internal::DecodeRecord(profile_v2.substr(1), back));
}

TEST(IdentityRecordTest, LaterOperandsLayOverEarlierOnes) {
  const int64_t t = 1773567000000;
  IdentityRecord earlier, later, out;
  earlier.profile = BaselineEntry{t, t + 1, 2};
  earlier.seen = {{t, 1}, {t + 2, 2}};
  earlier.networks = {{Bytes("10.0.0.0/24"), {t, t, 1}}, {Bytes("203.0.113.7/32"), {t, t, 1}}};
  later.seen = {{t + 1, 3}, {t + 2, 2}};  // seen events add up, each once
  later.networks = {{Bytes("10.0.0.0/24"), {t, t + 9, 5}}, {Bytes("198.51.100.0/24"), {t, t, 3}}};
  internal::MergeRecords(earlier, later, out);
  EXPECT_EQ(out.profile, earlier.profile);  // the later operand had none
  EXPECT_EQ(out.seen, (std::vector<SeenEvent>{{t, 1}, {t + 1, 3}, {t + 2, 2}}));
  EXPECT_EQ(Networks(out),
            (std::vector<std::string>{"10.0.0.0/24 5", "198.51.100.0/24 3", "203.0.113.7/32 1"}));
  later.profile = BaselineEntry{t, t + 9, 9};
  internal::MergeRecords(earlier, later, out);
  EXPECT_EQ(out.profile, later.profile);

  // Through RocksDB's interface: a full merge over a base, and partial merges
  // of operands, give the same record. Seen events more than 100 ms older
  // than the newest go.
  auto op = internal::NewIdentityRecordMerge(/*seen_keep_ms=*/100);
  const std::string a = Encoded(later);
  IdentityRecord third;
  third.seen = {{t + 101, 4}};
  third.networks = {{Bytes("10.0.0.0/24"), {t, t + 20, 6}}};
  const std::string b = Encoded(third);
  const std::vector<rocksdb::Slice> operands{a, b};
  const std::string base_value = Encoded(earlier);
  const rocksdb::Slice base_slice(base_value);
  rocksdb::Slice unused;
  std::string full;
  rocksdb::MergeOperator::MergeOperationOutput merge_out(full, unused);
  using Input = rocksdb::MergeOperator::MergeOperationInput;
  const rocksdb::Slice key("k");
  ASSERT_TRUE(op->FullMergeV2(Input(key, &base_slice, operands, nullptr), &merge_out));
  std::string partial;
  ASSERT_TRUE(op->PartialMerge("k", a, b, &partial, nullptr));
  std::string full_of_partial;
  rocksdb::MergeOperator::MergeOperationOutput out2(full_of_partial, unused);
  const std::vector<rocksdb::Slice> one{partial};
  ASSERT_TRUE(op->FullMergeV2(Input(key, &base_slice, one, nullptr), &out2));
  EXPECT_EQ(full, full_of_partial);
  IdentityRecord merged;
  ASSERT_TRUE(internal::DecodeRecord(full, merged));
  EXPECT_EQ(merged.profile, later.profile);
  EXPECT_EQ(merged.seen, (std::vector<SeenEvent>{{t + 1, 3}, {t + 2, 2}, {t + 101, 4}}));
  EXPECT_EQ(Networks(merged),
            (std::vector<std::string>{"10.0.0.0/24 6", "198.51.100.0/24 3", "203.0.113.7/32 1"}));
  // A damaged operand fails the merge (RocksDB then reports corruption).
  const std::vector<rocksdb::Slice> damaged{rocksdb::Slice("\x07", 1)};
  EXPECT_FALSE(op->FullMergeV2(Input(key, &base_slice, damaged, nullptr), &merge_out));
}

TEST(IdentityRecordTest, ExpiryDropsOldNetworksAndSeenEventsOnly) {
  const int64_t t = 1773567000000;
  IdentityRecord r;
  r.profile = BaselineEntry{t, t, 1};
  r.seen = {{t, 1}, {t + 5, 2}, {t + 9, 3}};
  r.networks = {{Bytes("10.0.0.0/24"), {t, t + 10, 1}}, {Bytes("203.0.113.7/32"), {t, t, 1}}};
  EXPECT_FALSE(internal::DropNetworksSeenBefore(r, t));
  EXPECT_TRUE(internal::DropNetworksSeenBefore(r, t + 5));
  EXPECT_EQ(Networks(r), (std::vector<std::string>{"10.0.0.0/24 1"}));
  EXPECT_TRUE(r.profile.has_value());
  EXPECT_FALSE(internal::DropSeenBefore(r, t));
  EXPECT_TRUE(internal::DropSeenBefore(r, t + 5));
  EXPECT_EQ(r.seen, (std::vector<SeenEvent>{{t + 5, 2}, {t + 9, 3}}));
  EXPECT_EQ(Networks(r), (std::vector<std::string>{"10.0.0.0/24 1"}));
}

}  // namespace
}  // namespace trailsentry::testing
