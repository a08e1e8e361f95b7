// RecordAccountReader: the account a record's state belongs to, read from raw
// JSON, is the one the engine uses (spec §1), whatever else the record holds.
#include "server/engine/record_account.h"

#include <gtest/gtest.h>

#include <string>

#include "server/engine/event_classifier.h"
#include "server/engine/record_parser.h"
#include "tests/testing/cloudtrail_builder.h"

namespace trailsentry::testing {
namespace {

std::string AccountOf(engine::RecordAccountReader& reader, std::string json) {
  const size_t size = json.size();
  json.reserve(size + simdjson::SIMDJSON_PADDING);
  return std::string(reader.Read(std::string_view(json.data(), size), json.capacity()));
}

TEST(RecordAccount, PrecedenceIsAccountIdThenArnThenRecipient) {
  engine::RecordAccountReader reader;
  EXPECT_EQ(
      AccountOf(reader, R"({"userIdentity":{"accountId":"111","arn":"arn:aws:iam::222:user/a"},
                                  "recipientAccountId":"333"})"),
      "111");
  EXPECT_EQ(AccountOf(reader, R"({"recipientAccountId":"333",
                                  "userIdentity":{"arn":"arn:aws:iam::222:user/a"}})"),
            "222");
  EXPECT_EQ(AccountOf(reader, R"({"userIdentity":{"accountId":""},"recipientAccountId":"333"})"),
            "333");
  EXPECT_EQ(AccountOf(reader, R"({"eventName":"ListUsers"})"), "");
}

TEST(RecordAccount, EnvelopesAreUnwrappedAndOtherDetailFieldsAreNot) {
  engine::RecordAccountReader reader;
  EXPECT_EQ(AccountOf(reader, R"({"detail":{"userIdentity":{"accountId":"444"}},
                                  "detail-type":"AWS API Call via CloudTrail","account":"999"})"),
            "444");
  EXPECT_EQ(AccountOf(reader, R"({"detail":{"userIdentity":{"accountId":"444"}},
                                  "recipientAccountId":"555"})"),
            "555");
}

TEST(RecordAccount, BadInputIsNoAccountNeverACrash) {
  engine::RecordAccountReader reader;
  for (const char* json : {"", "not json", "[1,2]", "\"s\"", R"({"userIdentity":7})",
                           R"({"userIdentity":{"accountId":12}})", R"({"a":)", "{\"\\ud800\":1}"}) {
    EXPECT_EQ(AccountOf(reader, json), "") << json;
  }
  // Without room for simdjson's padding after it, a record is not read at all.
  const std::string json = R"({"recipientAccountId":"333"})";
  EXPECT_EQ(reader.Read(json, json.size()), "");
  // The reader goes on after bad input.
  EXPECT_EQ(AccountOf(reader, json), "333");
}

// The reader agrees with the parser and classifier on builder records of every
// identity shape.
TEST(RecordAccount, AgreesWithTheEngine) {
  engine::RecordAccountReader reader;
  engine::EventClassifier classifier{engine::Config{}};
  simdjson::dom::parser parser;
  std::string key;
  for (Record record : {Record().User("alice"), Record().Role("admin", "s1"), Record().NoArn(),
                        Record().NoArn().NoPrincipal(), Record().Type("AWSService").NoArn()}) {
    const std::string json = record.Json();
    simdjson::dom::element doc;
    ASSERT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS);
    engine::Event ev;
    ASSERT_FALSE(engine::ParseRecord(doc, ev).has_value()) << json;
    const engine::Classification c = classifier.Classify(ev, key);
    EXPECT_EQ(AccountOf(reader, json), std::string(c.account)) << json;
  }
}

}  // namespace
}  // namespace trailsentry::testing
