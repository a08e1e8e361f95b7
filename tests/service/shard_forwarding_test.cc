// HTTP/JSON on account-sharded replicas (issue 12), two replicas in-process on
// real ports: the replica that takes a request evaluates its own accounts'
// events and forwards the others' to their owner over gRPC (in several calls
// when they are large), verdicts in request order; lookups and alert lists
// reach every replica; with the owner down the request fails naming its
// accounts.
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "client/client.h"
#include "server/engine/shard_ring.h"
#include "server/service/server.h"
#include "tests/service/detection_fixture.h"
#include "tests/testing/free_port.h"
#include "tests/testing/gzip.h"

namespace trailsentry::testing {
namespace {

class ShardForwardingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) replicas_.push_back(absl::StrCat("127.0.0.1:", FreePort()));
    // An account owned by each replica.
    const engine::ShardRing ring(replicas_);
    for (int64_t a = 111111111111; accounts_[0].empty() || accounts_[1].empty(); a += 7) {
      const std::string account = std::to_string(a);
      const int owner = ring.Owner(account) == replicas_[0] ? 0 : 1;
      if (accounts_[owner].empty()) accounts_[owner] = account;
    }
    for (int i = 0; i < 2; ++i) StartReplica(i);
  }

  void StartReplica(int i) {
    engine::Config config;
    config.server.listen = replicas_[i];
    config.server.data_dir = absl::StrCat(dir_.path(), "/data", i);
    // Small messages: what one replica forwards goes in several calls.
    config.server.max_message_bytes = 16 << 10;
    config.server.shard = {.self = replicas_[i], .replicas = replicas_};
    servers_[i] = service::Server::Start(config, {.http_listen = "127.0.0.1:0"}).value();
    clients_[i] = Client::Connect({.target = replicas_[i]}).value();
  }

  std::string Arn(int replica) const {
    return absl::StrCat("arn:aws:iam::", accounts_[replica], ":user/u", replica);
  }

  // 40 records, alternating between an identity of each replica's account: a
  // CLI burst each (7 distinct discovery calls), event ids "e0".."e39".
  std::vector<std::string> Records() const {
    std::vector<std::string> records;
    for (int i = 0; i < 40; ++i) {
      const int r = i % 2;
      records.push_back(Record()
                            .Account(accounts_[r])
                            .User(absl::StrCat("u", r))
                            .AtSecond(i / 2)
                            .Action(kActions[(i / 2) % kActions.size()])
                            .Id(absl::StrCat("e", i))
                            .Json());
    }
    return records;
  }

  httplib::Result Post(int replica, const v1::EvaluateRequest& request) {
    std::string body;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(request, &body).ok());
    httplib::Client http("127.0.0.1", servers_[replica]->http_port());
    http.set_read_timeout(60, 0);
    return http.Post("/v1/evaluate", body, "application/json");
  }

  TempDir dir_;
  std::vector<std::string> replicas_;
  std::array<std::string, 2> accounts_;
  std::array<std::unique_ptr<service::Server>, 2> servers_;
  std::array<std::unique_ptr<Client>, 2> clients_;
};

TEST_F(ShardForwardingTest, AnyReplicaAnswersForEveryAccountOverHttp) {
  // A gzip payload: 24 KB of records inflated, forwarded in several calls.
  v1::EvaluateRequest request;
  request.set_payload(Gzip(absl::StrJoin(Records(), "\n")));
  httplib::Result r = Post(0, request);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  v1::EvaluateResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r->body, &response).ok());
  ASSERT_EQ(response.verdicts_size(), 40);
  EXPECT_EQ(response.accepted(), 40);
  for (int i = 0; i < 40; ++i) {
    EXPECT_EQ(response.verdicts(i).status(), v1::Verdict::ACCEPTED) << i;
    EXPECT_EQ(response.verdicts(i).event_id(), absl::StrCat("e", i));
    EXPECT_EQ(response.verdicts(i).index(), i);
  }
  EXPECT_EQ(response.alerts_size(), 2);  // one burst per account, each on its owner
  // Replica 1's 20 records (~12 KB) went in more than one call (8 KiB each at most).
  httplib::Result metrics = httplib::Client("127.0.0.1", servers_[1]->http_port()).Get("/metrics");
  ASSERT_TRUE(metrics);
  const std::string calls =
      "trailsentry_request_duration_seconds_count{api=\"grpc\",method=\"Evaluate\"} ";
  const size_t at = metrics->body.find(calls);
  ASSERT_NE(at, std::string::npos) << metrics->body;
  EXPECT_GE(std::stoi(metrics->body.substr(at + calls.size())), 2);

  // Each replica holds its own account's identity only (gRPC lookups answer
  // from the replica asked).
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(clients_[i]->GetIdentity(Arn(i)).value().event_count(), 20) << i;
    EXPECT_EQ(clients_[i]->GetIdentity(Arn(1 - i)).status().code(), absl::StatusCode::kNotFound);
  }
  // Over HTTP, either replica answers for both: lookups go to the owner,
  // alert lists are every replica's.
  for (int asked = 0; asked < 2; ++asked) {
    httplib::Client http("127.0.0.1", servers_[asked]->http_port());
    for (int owner = 0; owner < 2; ++owner) {
      httplib::Result id = http.Get(
          absl::StrCat("/v1/identities/", absl::StrReplaceAll(Arn(owner), {{"/", "%2F"}})));
      ASSERT_TRUE(id);
      EXPECT_EQ(id->status, 200) << id->body;
      v1::IdentityProfile profile;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(id->body, &profile).ok()) << id->body;
      EXPECT_EQ(profile.event_count(), 20) << asked << " asked of " << owner;
    }
    httplib::Result alerts = http.Get("/v1/alerts");
    ASSERT_TRUE(alerts);
    v1::ListAlertsResponse list;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(alerts->body, &list).ok())
        << alerts->body;
    EXPECT_EQ(list.alerts_size(), 2);
    // An alert of the other replica, by id.
    for (const v1::Alert& a : list.alerts()) {
      httplib::Result one = http.Get(absl::StrCat("/v1/alerts/", a.alert_id()));
      ASSERT_TRUE(one);
      EXPECT_EQ(one->status, 200) << one->body;
    }
  }
}

TEST_F(ShardForwardingTest, RejectedOnlyVerdictsAreTrimmedAfterTheOwnersAnswer) {
  // Two bad records among the first 20 (a body under max_message_bytes); the
  // other replica's accepted events come back from it with their verdicts,
  // which this replica then leaves out.
  std::vector<std::string> records = Records();
  records.resize(20);
  records.insert(records.begin() + 3, "{not json");
  records.insert(records.begin() + 15, Record().Account(accounts_[1]).Without("eventName").Json());
  v1::EvaluateRequest request;
  for (const std::string& record : records) request.add_events()->set_raw_json(record);
  request.set_verdict_detail(v1::VERDICT_DETAIL_REJECTED);
  httplib::Result r = Post(0, request);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  v1::EvaluateResponse response;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r->body, &response).ok());
  ASSERT_EQ(response.verdicts_size(), 2) << r->body;
  EXPECT_EQ(response.verdicts(0).index(), 3);
  EXPECT_EQ(response.verdicts(0).reject_field(), "raw_json");
  EXPECT_EQ(response.verdicts(1).index(), 15);
  EXPECT_EQ(response.verdicts(1).reject_field(), "eventName");
  EXPECT_EQ(response.accepted(), 20);
  EXPECT_EQ(response.rejected(), 2);
  EXPECT_EQ(response.alerts_size(), 2);
}

TEST_F(ShardForwardingTest, AnOwnerDownFailsTheRequestNamingItsAccount) {
  servers_[1].reset();
  v1::EvaluateRequest request;
  request.set_payload(Gzip(absl::StrJoin(Records(), "\n")));
  httplib::Result r = Post(0, request);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_NE(r->body.find(accounts_[1]), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("did not evaluate them"), std::string::npos) << r->body;
  // The live replica's events were evaluated: sent again, they are duplicates.
  EXPECT_EQ(clients_[0]->GetIdentity(Arn(0)).value().event_count(), 20);
}

}  // namespace
}  // namespace trailsentry::testing
