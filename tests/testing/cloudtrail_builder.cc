#include "tests/testing/cloudtrail_builder.h"

#include <algorithm>
#include <atomic>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "server/engine/event_time.h"

namespace trailsentry::testing {
namespace {

std::string NextEventId() {
  static std::atomic<uint64_t> counter{1};
  const uint64_t n = counter++;
  return absl::StrFormat("%08x-0000-4000-8000-%012x", static_cast<uint32_t>(n * 2654435761u), n);
}

std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace

std::string TimeAt(int64_t seconds) {
  // 2026-03-15T09:30:00Z
  constexpr int64_t kBase = 1773567000;
  return engine::FormatRfc3339((kBase + seconds) * engine::kMillisPerSecond);
}

Record::Record()
    : time_(TimeAt(0)),
      name_("DescribeInstances"),
      source_("ec2.amazonaws.com"),
      agent_(kCliAgent),
      ip_("198.51.100.7"),
      event_id_(NextEventId()),
      type_("IAMUser"),
      region_("us-east-1") {
  User("alice");
}

Record& Record::At(const std::string& t) {
  time_ = t;
  return *this;
}
Record& Record::AtSecond(int64_t s) {
  time_ = TimeAt(s);
  return *this;
}
Record& Record::Action(const std::string& n) {
  name_ = n;
  return *this;
}
Record& Record::Source(const std::string& s) {
  source_ = s;
  return *this;
}
Record& Record::Agent(const std::string& a) {
  agent_ = a;
  return *this;
}
Record& Record::Ip(const std::string& ip) {
  ip_ = ip;
  return *this;
}
Record& Record::Id(const std::string& id) {
  event_id_ = id;
  return *this;
}
Record& Record::NewId() {
  event_id_ = NextEventId();
  return *this;
}
Record& Record::Error(const std::string& e) {
  error_ = e;
  return *this;
}
Record& Record::Type(const std::string& t) {
  type_ = t;
  return *this;
}
Record& Record::NoArn() {
  arn_.clear();
  return *this;
}
Record& Record::NoPrincipal() {
  principal_.clear();
  return *this;
}
Record& Record::Console(const std::string& v) {
  console_ = v;
  return *this;
}
Record& Record::Region(const std::string& r) {
  region_ = r;
  return *this;
}
Record& Record::Extra(const std::string& m) {
  extra_.push_back(m);
  return *this;
}
Record& Record::Without(const std::string& f) {
  without_.push_back(f);
  return *this;
}

Record& Record::Account(const std::string& account) {
  account_ = account;
  return *this;
}

Record& Record::User(const std::string& user) {
  type_ = "IAMUser";
  arn_ = absl::StrCat("arn:aws:iam::", account_, ":user/", user);
  principal_ = "AIDAEXAMPLE" + user;
  user_name_ = user;
  issuer_user_name_.clear();
  issuer_arn_.clear();
  return *this;
}

Record& Record::Role(const std::string& role, const std::string& session) {
  type_ = "AssumedRole";
  arn_ = absl::StrCat("arn:aws:sts::", account_, ":assumed-role/", role, "/", session);
  principal_ = absl::StrCat("AROAEXAMPLE", role, ":", session);
  user_name_.clear();
  issuer_user_name_ = role;
  issuer_arn_ = absl::StrCat("arn:aws:iam::", account_, ":role/", role);
  return *this;
}

std::string Record::Json() const {
  std::vector<std::string> members;
  auto add = [&](const std::string& key, const std::string& value_json) {
    if (std::find(without_.begin(), without_.end(), key) == without_.end()) {
      members.push_back(absl::StrCat(Quoted(key), ":", value_json));
    }
  };
  add("eventVersion", "\"1.09\"");
  std::vector<std::string> identity = {absl::StrCat("\"type\":", Quoted(type_))};
  if (!principal_.empty()) identity.push_back(absl::StrCat("\"principalId\":", Quoted(principal_)));
  if (!arn_.empty()) identity.push_back(absl::StrCat("\"arn\":", Quoted(arn_)));
  identity.push_back(absl::StrCat("\"accountId\":", Quoted(account_)));
  identity.push_back("\"accessKeyId\":\"AKIAEXAMPLEKEY000001\"");
  if (!user_name_.empty()) identity.push_back(absl::StrCat("\"userName\":", Quoted(user_name_)));
  if (!issuer_user_name_.empty()) {
    identity.push_back(absl::StrCat(
        "\"sessionContext\":{\"sessionIssuer\":{\"type\":\"Role\",\"arn\":", Quoted(issuer_arn_),
        ",\"userName\":", Quoted(issuer_user_name_),
        "},\"attributes\":{\"mfaAuthenticated\":\"false\"}}"));
  }
  add("userIdentity", absl::StrCat("{", absl::StrJoin(identity, ","), "}"));
  add("eventTime", Quoted(time_));
  add("eventSource", Quoted(source_));
  add("eventName", Quoted(name_));
  add("awsRegion", Quoted(region_));
  add("sourceIPAddress", Quoted(ip_));
  add("userAgent", Quoted(agent_));
  if (!error_.empty()) add("errorCode", Quoted(error_));
  add("requestParameters", "null");
  add("responseElements", "null");
  add("eventID", Quoted(event_id_));
  add("readOnly", "true");
  add("eventType", "\"AwsApiCall\"");
  add("recipientAccountId", Quoted(account_));
  if (console_) add("sessionCredentialFromConsole", *console_);
  for (const std::string& m : extra_) members.push_back(m);
  return absl::StrCat("{", absl::StrJoin(members, ","), "}");
}

}  // namespace trailsentry::testing
