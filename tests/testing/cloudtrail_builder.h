// Record: builds CloudTrail records as AWS writes them, for tests.
//
// Defaults describe an IAM user calling EC2 through the AWS CLI from a public IP;
// each test changes only what it is about:
//
//   std::string json = Record().At("2026-03-15T09:31:02Z").Action("DescribeInstances").Json();
//   Record().At(t).Action("ListUsers").Source("iam.amazonaws.com").Role("admin", "s1").Json();
#ifndef TRAILSENTRY_TESTS_TESTING_CLOUDTRAIL_BUILDER_H_
#define TRAILSENTRY_TESTS_TESTING_CLOUDTRAIL_BUILDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace trailsentry::testing {

inline constexpr char kCliAgent[] =
    "aws-cli/2.13.5 Python/3.11.4 Linux/5.15.0 exe/x86_64.ubuntu.22";
inline constexpr char kAccount[] = "111122223333";

class Record {
 public:
  Record();
  Record& At(const std::string& rfc3339);
  // Seconds after 2026-03-15T09:30:00Z.
  Record& AtSecond(int64_t seconds);
  Record& Action(const std::string& event_name);
  Record& Source(const std::string& event_source);
  Record& Agent(const std::string& user_agent);
  Record& Ip(const std::string& source_ip);
  Record& Id(const std::string& event_id);
  Record& NewId();  // a fresh, unique eventID
  Record& Error(const std::string& error_code);
  Record& Account(const std::string& account);  // instead of kAccount; before User/Role
  Record& User(const std::string& user_name);   // IAM user in kAccount
  Record& Role(const std::string& role, const std::string& session);  // assumed role
  Record& Type(const std::string& identity_type);
  Record& NoArn();
  Record& NoPrincipal();
  Record& Console(const std::string& json_value);  // sessionCredentialFromConsole
  Record& Region(const std::string& region);
  // Raw JSON for an extra top-level member, e.g. Extra("\"@timestamp\":\"...\"").
  Record& Extra(const std::string& member);
  Record& Without(const std::string& top_level_field);

  std::string Json() const;
  const std::string& event_id() const { return event_id_; }

 private:
  std::string time_, name_, source_, agent_, ip_, event_id_, error_, type_, region_;
  std::string account_ = kAccount;
  std::string arn_, principal_, user_name_, issuer_user_name_, issuer_arn_;
  std::optional<std::string> console_;
  std::vector<std::string> extra_, without_;
};

// Seconds after 2026-03-15T09:30:00Z as RFC 3339.
std::string TimeAt(int64_t seconds);

}  // namespace trailsentry::testing

#endif  // TRAILSENTRY_TESTS_TESTING_CLOUDTRAIL_BUILDER_H_
