// ParseRecord and event times: spec §1 fields, fallbacks and rejections.
#include "server/engine/record_parser.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <string>

#include "server/engine/event_time.h"
#include "tests/testing/cloudtrail_builder.h"

namespace trailsentry::testing {
namespace {

using engine::Event;
using engine::ParseRecord;
using engine::RecordError;

std::optional<RecordError> Parse(const std::string& json, Event& ev) {
  static simdjson::dom::parser parser;
  static simdjson::padded_string padded;
  padded = simdjson::padded_string(json);
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc)) return RecordError{"json", "invalid"};
  return ParseRecord(doc, ev);
}

TEST(EventTime, ParsesCloudTrailAndLogstashForms) {
  EXPECT_EQ(engine::ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(engine::ParseRfc3339("2023-07-10T11:42:36Z"), int64_t{1688989356} * 1000);
  EXPECT_EQ(engine::ParseRfc3339("2020-09-14T00:44:23.000Z"), int64_t{1600044263} * 1000);
  EXPECT_EQ(engine::ParseRfc3339("2020-09-14T00:44:23.123456Z"), int64_t{1600044263} * 1000 + 123);
  EXPECT_EQ(engine::ParseRfc3339("2020-09-14T02:44:23+02:00"), int64_t{1600044263} * 1000);
  EXPECT_EQ(engine::ParseRfc3339("2024-02-29T00:00:00Z"), int64_t{1709164800} * 1000);
}

TEST(EventTime, RejectsAbsurdAndMalformedTimes) {
  for (const char* bad : {"", "2023-07-10", "2023-07-10T11:42:36", "2023-13-01T00:00:00Z",
                          "2023-02-29T00:00:00Z", "1969-12-31T23:59:59Z", "10000-01-01T00:00:00Z",
                          "2023-07-10T25:00:00Z", "2023-07-10T11:42:36Zjunk", "yesterday",
                          "2023-07-10T11:42:36.Z", "2023-07-10T11:42:36+0200"}) {
    EXPECT_FALSE(engine::ParseRfc3339(bad).has_value()) << bad;
  }
}

TEST(EventTime, FormatsRoundTrip) {
  for (const char* t :
       {"2023-07-10T11:42:36Z", "2020-09-14T00:44:23.120Z", "9999-12-31T23:59:59Z"}) {
    EXPECT_EQ(engine::FormatRfc3339(*engine::ParseRfc3339(t)), t);
  }
}

TEST(RecordParser, ReadsEveryUsedField) {
  Event ev;
  ASSERT_FALSE(
      Parse(Record().Role("admin", "sess").Error("AccessDenied").Console("\"false\"").Json(), ev));
  EXPECT_EQ(ev.event_name, "DescribeInstances");
  EXPECT_EQ(ev.event_source, "ec2.amazonaws.com");
  EXPECT_EQ(ev.source_ip, "198.51.100.7");
  EXPECT_EQ(ev.user_agent, kCliAgent);
  EXPECT_EQ(ev.error_code, "AccessDenied");
  EXPECT_EQ(ev.aws_region, "us-east-1");
  EXPECT_EQ(ev.recipient_account_id, kAccount);
  EXPECT_EQ(ev.identity_type, "AssumedRole");
  EXPECT_EQ(ev.arn, "arn:aws:sts::111122223333:assumed-role/admin/sess");
  EXPECT_EQ(ev.principal_id, "AROAEXAMPLEadmin:sess");
  EXPECT_EQ(ev.account_id, kAccount);
  EXPECT_EQ(ev.access_key_id, "AKIAEXAMPLEKEY000001");
  EXPECT_EQ(ev.issuer_user_name, "admin");
  EXPECT_EQ(ev.issuer_arn, "arn:aws:iam::111122223333:role/admin");
  EXPECT_FALSE(ev.console_session);
  EXPECT_EQ(engine::FormatRfc3339(ev.time), TimeAt(0));
}

TEST(RecordParser, FallsBackToTimestampWhenEventTimeAbsentOrNull) {
  Event ev;
  ASSERT_FALSE(Parse(
      Record().Without("eventTime").Extra("\"@timestamp\":\"2020-09-14T00:44:23.000Z\"").Json(),
      ev));
  EXPECT_EQ(engine::FormatRfc3339(ev.time), "2020-09-14T00:44:23Z");
  ASSERT_FALSE(Parse(Record()
                         .Without("eventTime")
                         .Extra("\"eventTime\":null")
                         .Extra("\"@timestamp\":\"2020-09-14T00:44:23Z\"")
                         .Json(),
                     ev));
  EXPECT_EQ(engine::FormatRfc3339(ev.time), "2020-09-14T00:44:23Z");
}

TEST(RecordParser, PresentButBadEventTimeRejectsEvenWithTimestamp) {
  Event ev;
  auto err = Parse(
      Record().At("2023-07-10 noon").Extra("\"@timestamp\":\"2020-09-14T00:44:23Z\"").Json(), ev);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->field, "eventTime");
  EXPECT_NE(err->reason.find("2023-07-10 noon"), std::string::npos);
}

TEST(RecordParser, RejectionsNameTheField) {
  struct Case {
    std::string json, field;
  };
  const std::string huge(10000, 'a');
  std::vector<Case> cases = {
      {"[1,2]", "record"},
      {"\"text\"", "record"},
      {"42", "record"},
      {Record().Without("eventName").Json(), "eventName"},
      {Record().Without("eventSource").Json(), "eventSource"},
      {Record().Without("eventTime").Json(), "eventTime"},
      {Record().Without("eventName").Extra("\"eventName\":17").Json(), "eventName"},
      {Record().Without("eventName").Extra("\"eventName\":null").Json(), "eventName"},
      {Record().Action("").Json(), "eventName"},
      {Record().Action(std::string(300, 'D')).Json(), "eventName"},
      {Record().Without("eventTime").Extra("\"eventTime\":1688989356").Json(), "eventTime"},
      {Record().At("1900-01-01T00:00:00Z").Json(), "eventTime"},
      {Record().Agent(huge).Json(), "userAgent"},
      {Record().Without("eventTime").Extra("\"@timestamp\":\"garbage\"").Json(), "@timestamp"},
  };
  for (const Case& c : cases) {
    Event ev;
    auto err = Parse(c.json, ev);
    ASSERT_TRUE(err.has_value()) << c.json.substr(0, 200);
    EXPECT_EQ(err->field, c.field) << c.json.substr(0, 200) << " -> " << err->reason;
    EXPECT_FALSE(err->reason.empty());
  }
}

TEST(RecordParser, IllTypedOptionalFieldsAreIgnored) {
  Event ev;
  ASSERT_FALSE(Parse(Record()
                         .Without("userAgent")
                         .Without("sourceIPAddress")
                         .Without("userIdentity")
                         .Extra("\"userAgent\":5")
                         .Extra("\"sourceIPAddress\":[1]")
                         .Extra("\"userIdentity\":\"root\"")
                         .Json(),
                     ev));
  EXPECT_TRUE(ev.user_agent.empty());
  EXPECT_TRUE(ev.source_ip.empty());
  EXPECT_TRUE(ev.arn.empty());
}

TEST(RecordParser, FutureTimesAreRejectedAgainstNow) {
  const engine::EventTime now = *engine::ParseRfc3339("2026-01-01T00:00:00Z");
  EXPECT_FALSE(engine::CheckNotInFuture(now + 3600 * 1000, now));
  auto err = engine::CheckNotInFuture(*engine::ParseRfc3339("2099-01-01T00:00:00Z"), now);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->field, "eventTime");
}

}  // namespace
}  // namespace trailsentry::testing
