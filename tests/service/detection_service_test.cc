// The Detection service in-process, on a real port, through the real client.
#include <gtest/gtest.h>
#include <httplib.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "client/evaluate_pipeline.h"
#include "server/service/server.h"
#include "tests/service/detection_fixture.h"
#include "trailsentry/v1/detection.grpc.pb.h"

namespace trailsentry::testing {
namespace {

TEST_F(DetectionServiceTest, EvaluateReturnsVerdictsInOrderAndNewAlert) {
  std::vector<std::string> records = Burst(6, 0);
  records.insert(records.begin() + 2, Record().AtSecond(1).Console("\"true\"").Json());
  auto response = client_->Evaluate(Request(records));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->verdicts_size(), 7);
  EXPECT_EQ(response->accepted(), 7);
  const v1::Verdict& excluded = response->verdicts(2);
  EXPECT_EQ(excluded.exclusion(), v1::EXCLUSION_CONSOLE_SESSION);
  EXPECT_TRUE(std::count(excluded.flags().begin(), excluded.flags().end(), v1::EXCLUDED));
  const v1::Verdict& last = response->verdicts(6);
  EXPECT_EQ(last.status(), v1::Verdict::ACCEPTED);
  EXPECT_EQ(last.identity(), "arn:aws:iam::111122223333:user/alice");
  EXPECT_TRUE(std::count(last.flags().begin(), last.flags().end(), v1::DISCOVERY));
  EXPECT_TRUE(std::count(last.flags().begin(), last.flags().end(), v1::CLI));
  ASSERT_EQ(last.alert_ids_size(), 1);
  ASSERT_EQ(response->alerts_size(), 1);
  const v1::AlertChange& change = response->alerts(0);
  EXPECT_EQ(change.kind(), v1::AlertChange::NEW);
  EXPECT_EQ(change.alert().alert_id(), last.alert_ids(0));
  EXPECT_EQ(change.alert().rule_id(), "aws-discovery-cli-burst");
  EXPECT_EQ(change.alert().distinct_action_count(), 6);
  EXPECT_EQ(change.alert().event_ids_size(), 6);
  EXPECT_EQ(change.alert().severity(), v1::LOW);
  EXPECT_EQ(change.alert().risk_score(), 21);
}

TEST_F(DetectionServiceTest, LaterBatchUpdatesTheAlertOnce) {
  ASSERT_TRUE(client_->Evaluate(Request(Burst(6, 0))).ok());
  auto response = client_->Evaluate(
      Request({Record().AtSecond(8).Action("ListKeys").Json(),
               Record().AtSecond(9).Action("ListAliases").Source("kms.amazonaws.com").Json()}));
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->alerts_size(), 1);  // each alert once per response
  EXPECT_EQ(response->alerts(0).kind(), v1::AlertChange::UPDATED);
  EXPECT_EQ(response->alerts(0).alert().distinct_action_count(), 8);
  EXPECT_EQ(response->verdicts(0).alert_ids(0), response->alerts(0).alert().alert_id());
}

TEST_F(DetectionServiceTest, MalformedRecordsAreRejectedAndTheRestGoesOn) {
  std::vector<std::string> records = Burst(6, 0);
  records.insert(records.begin() + 1, "{not json");
  records.insert(records.begin() + 3, Record().Without("eventName").Json());
  records.insert(records.begin() + 4, Record().At("2023-02-30T00:00:00Z").Json());
  records.insert(records.begin() + 5, "[]");
  auto response = client_->Evaluate(Request(records));
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->verdicts_size(), 10);
  EXPECT_EQ(response->rejected(), 4);
  EXPECT_EQ(response->accepted(), 6);
  EXPECT_EQ(response->verdicts(1).reject_field(), "raw_json");
  EXPECT_EQ(response->verdicts(3).reject_field(), "eventName");
  EXPECT_EQ(response->verdicts(4).reject_field(), "eventTime");
  EXPECT_EQ(response->verdicts(5).reject_field(), "record");
  EXPECT_EQ(response->verdicts(4).reject_reason(),
            "eventTime: not an RFC 3339 time between 1970 and 9999: \"2023-02-30T00:00:00Z\"");
  EXPECT_EQ(response->alerts_size(), 1);
}

// A metric of the server's /metrics text, e.g.
// trailsentry_event_flags_total{flag="DISCOVERY"}; -1 when absent.
int64_t MetricValue(const std::string& metrics, const std::string& name) {
  const size_t at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stoll(metrics.substr(at + name.size() + 2));
}

TEST_F(DetectionServiceTest, RejectedOnlyVerdictsNameTheirEventsAndTheRestAreCounted) {
  client_.reset();
  server_.reset();
  server_ = service::Server::Start(config_, {.http_listen = "127.0.0.1:0"}).value();
  client_ = Client::Connect({.target = "127.0.0.1:" + std::to_string(server_->port())}).value();
  // A burst of 6 discovery calls with two bad records among them, from alice
  // with only the rejections asked for, then from bob with every verdict.
  auto records = [](const std::string& user) {
    std::vector<std::string> out;
    for (int i = 0; i < 6; ++i) {
      out.push_back(Record().User(user).AtSecond(i).Action(kActions[i]).Json());
    }
    out.insert(out.begin() + 1, "{not json");
    out.insert(out.begin() + 4, Record().User(user).Without("eventName").Json());
    return out;
  };
  v1::EvaluateRequest sparse = Request(records("alice"));
  sparse.set_verdict_detail(v1::VERDICT_DETAIL_REJECTED);
  auto response = client_->Evaluate(sparse);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->verdicts_size(), 2);
  EXPECT_EQ(response->verdicts(0).index(), 1);
  EXPECT_EQ(response->verdicts(0).reject_field(), "raw_json");
  EXPECT_EQ(response->verdicts(1).index(), 4);
  EXPECT_EQ(response->verdicts(1).reject_field(), "eventName");
  EXPECT_EQ(response->accepted(), 6);
  EXPECT_EQ(response->rejected(), 2);
  ASSERT_EQ(response->alerts_size(), 1);
  EXPECT_EQ(response->alerts(0).kind(), v1::AlertChange::NEW);
  EXPECT_EQ(response->alerts(0).alert().identity(), "arn:aws:iam::111122223333:user/alice");

  response = client_->Evaluate(Request(records("bob")));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->verdicts_size(), 8);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(response->verdicts(i).index(), i);
  EXPECT_EQ(response->verdicts(4).reject_field(), "eventName");
  EXPECT_EQ(response->alerts_size(), 1);

  // The metrics count the flags of every accepted event, answered or not.
  httplib::Result metrics = httplib::Client("127.0.0.1", server_->http_port()).Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(MetricValue(metrics->body, "trailsentry_event_flags_total{flag=\"DISCOVERY\"}"), 12);
  EXPECT_EQ(MetricValue(metrics->body, "trailsentry_event_flags_total{flag=\"CLI\"}"), 12);
  EXPECT_EQ(MetricValue(metrics->body, "trailsentry_events_total{verdict=\"accepted\"}"), 12);
  EXPECT_EQ(MetricValue(metrics->body, "trailsentry_events_total{verdict=\"rejected\"}"), 4);
}

TEST_F(DetectionServiceTest, StructuredEventsAndEnvelopes) {
  v1::EvaluateRequest request;
  for (int i = 0; i < 3; ++i) {
    v1::CloudTrailEvent* e = request.add_events()->mutable_structured();
    e->mutable_event_time()->set_seconds(1773567000 + i);
    e->set_event_source("iam.amazonaws.com");
    e->set_event_name(kActions[i]);
    e->set_event_id("structured-" + std::to_string(i));
    e->set_source_ip_address("198.51.100.7");
    e->set_user_agent(kCliAgent);
    e->mutable_user_identity()->set_arn("arn:aws:iam::111122223333:user/alice");
    e->mutable_user_identity()->set_type("IAMUser");
  }
  for (int i = 3; i < 6; ++i) {
    request.add_events()->set_raw_json(
        "{\"detail-type\":\"AWS API Call via CloudTrail\",\"detail\":" +
        Record().AtSecond(i).Action(kActions[i]).Json() + "}");
  }
  request.add_events()->mutable_structured();  // no name, source or time
  request.add_events();                        // neither body
  auto response = client_->Evaluate(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->accepted(), 6);
  EXPECT_EQ(response->verdicts(6).reject_field(), "structured.event_name");
  EXPECT_EQ(response->verdicts(7).reject_field(), "event");
  ASSERT_EQ(response->alerts_size(), 1);
  EXPECT_EQ(response->alerts(0).alert().event_count(), 6);
}

TEST_F(DetectionServiceTest, PayloadHoldsAWholeContainer) {
  std::string file = "{\"Records\":[";
  for (const std::string& r : Burst(6, 0)) file += r + ",";
  file.back() = ']';
  file += "}";
  v1::EvaluateRequest request;
  request.set_payload(file);
  auto response = client_->Evaluate(request);
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->verdicts_size(), 6);
  EXPECT_EQ(response->alerts_size(), 1);
  // Garbage payload: one REJECTED verdict naming the payload; no RPC error.
  request.set_payload("garbage");
  response = client_->Evaluate(request);
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->verdicts_size(), 1);
  EXPECT_EQ(response->verdicts(0).reject_field(), "payload");
}

TEST_F(DetectionServiceTest, EmptyRequestIsFine) {
  auto response = client_->Evaluate(v1::EvaluateRequest());
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->verdicts_size(), 0);
}

TEST_F(DetectionServiceTest, TooManyEventsFailsCleanlyNamingTheLimit) {
  max_events_ = 5;
  Start(engine::Config{});
  auto response = client_->Evaluate(Request(Burst(6, 0)));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(response.status().message().find("max_events_per_request"), std::string::npos);
  // Nothing was evaluated: five of the six do not fire later.
  response = client_->Evaluate(Request(Burst(5, 0)));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->alerts_size(), 0);
}

TEST_F(DetectionServiceTest, OversizedMessageIsResourceExhausted) {
  engine::Config config;
  config.server.max_message_bytes = 64 * 1024;
  Start(config);
  v1::EvaluateRequest request;
  request.set_payload(std::string(100 * 1024, ' '));
  auto response = client_->Evaluate(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_F(DetectionServiceTest, BatchingHelperSendsEverything) {
  std::vector<std::string> records = Burst(7, 0);
  absl::StatusOr<Client::RecordsResult> r = client_->EvaluateRecords(records, 3);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->failed.empty());
  EXPECT_EQ(r->response.verdicts_size(), 7);
  EXPECT_EQ(r->response.accepted(), 7);
  // Opened by the 6th call, updated by the 7th, sent in three requests: once.
  ASSERT_EQ(r->response.alerts_size(), 1);
  EXPECT_EQ(r->response.alerts(0).kind(), v1::AlertChange::NEW);
  EXPECT_EQ(r->response.alerts(0).alert().distinct_action_count(), 7);
}

TEST_F(DetectionServiceTest, BatchingHelperSplitsByAccountAndKeepsRecordOrder) {
  // Three accounts interleaved, one a burst: each account goes in its own
  // requests, and the verdicts come back in the records' order.
  std::vector<std::string> records;
  for (int i = 0; i < 21; ++i) {
    const std::string account = std::to_string(111111111111 + 111111111111 * (i % 3));
    records.push_back(Record()
                          .Account(account)
                          .User("user" + std::to_string(i % 3))
                          .AtSecond(i / 3)
                          .Action(kActions[i / 3])
                          .Id(absl::StrCat("e", i))
                          .Json());
  }
  records.push_back("{not json");
  absl::StatusOr<Client::RecordsResult> r = client_->EvaluateRecords(records, 2);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->response.verdicts_size(), 22);
  for (int i = 0; i < 21; ++i) {
    EXPECT_EQ(r->response.verdicts(i).event_id(), absl::StrCat("e", i));
  }
  EXPECT_EQ(r->response.verdicts(21).status(), v1::Verdict::REJECTED);
  EXPECT_EQ(r->response.accepted(), 21);
  EXPECT_EQ(r->response.rejected(), 1);
  EXPECT_EQ(r->response.alerts_size(), 3);  // one burst per account's user
}

TEST_F(DetectionServiceTest, DeadlineExceededWhenServerIsUnreachable) {
  auto client =
      Client::Connect({.target = "127.0.0.1:1", .timeout = absl::Milliseconds(300)}).value();
  auto response = client->Evaluate(Request(Burst(1, 0)));
  ASSERT_FALSE(response.ok());
  EXPECT_TRUE(response.status().code() == absl::StatusCode::kUnavailable ||
              response.status().code() == absl::StatusCode::kDeadlineExceeded)
      << response.status();
}

TEST_F(DetectionServiceTest, StreamAnswersEachRequestInOrder) {
  auto stub = RawStub();
  grpc::ClientContext context;
  auto stream = stub->EvaluateStream(&context);
  std::vector<std::string> burst = Burst(6, 0);
  std::vector<v1::EvaluateResponse> responses;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(stream->Write(Request({burst[2 * i], burst[2 * i + 1]})));
    v1::EvaluateResponse response;
    ASSERT_TRUE(stream->Read(&response));
    responses.push_back(response);
  }
  stream->WritesDone();
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_EQ(responses[0].alerts_size(), 0);
  EXPECT_EQ(responses[1].alerts_size(), 0);
  ASSERT_EQ(responses[2].alerts_size(), 1);
  EXPECT_EQ(responses[2].alerts(0).kind(), v1::AlertChange::NEW);
}

// JSON-lines payloads through several streams, several requests in flight: one
// response per request, in the order sent, each with its own verdicts.
TEST_F(DetectionServiceTest, PipelineAnswersEveryRequestInTheOrderSent) {
  for (int streams : {1, 3}) {
    Start(engine::Config{});
    std::vector<int> counts;  // accepted verdicts per response, in delivery order
    std::vector<std::string> first_ids;
    EvaluatePipeline pipeline(*client_, {.streams = streams, .window = 2},
                              [&](const v1::EvaluateResponse& r) {
                                counts.push_back(r.accepted());
                                first_ids.push_back(r.verdicts(0).event_id());
                              });
    std::vector<std::string> sent_first_ids;
    for (int i = 0; i < 40; ++i) {
      v1::EvaluateRequest request;
      std::string lines;
      const int n = 1 + i % 5;  // 1..5 records, and a blank line that is no record
      for (int k = 0; k < n; ++k) {
        const std::string id = absl::StrCat("pipe-", i, "-", k);
        if (k == 0) sent_first_ids.push_back(id);
        lines += Record()
                     .User(absl::StrCat("u", i % 4))
                     .AtSecond(i * 2 + k)
                     .Action(kActions[k])
                     .Id(id)
                     .Json();
        lines += "\n\n";
      }
      request.set_payload(lines);
      request.set_payload_format(v1::PAYLOAD_FORMAT_JSON_LINES);
      ASSERT_TRUE(pipeline.Send(request).ok());
    }
    ASSERT_TRUE(pipeline.Finish().ok());
    ASSERT_EQ(counts.size(), 40u) << streams << " streams";
    for (int i = 0; i < 40; ++i) {
      EXPECT_EQ(counts[i], 1 + i % 5) << "response " << i;
      EXPECT_EQ(first_ids[i], sent_first_ids[i]) << "response " << i;
    }
  }
}

// In JSON-lines form a line that is not JSON is one rejected record, even when no
// line of the payload parses (AUTO would reject the payload as a whole).
TEST_F(DetectionServiceTest, JsonLinesPayloadRejectsEachBadLineAlone) {
  v1::EvaluateRequest request;
  request.set_payload("not json\n{\"truncated\":\n");
  request.set_payload_format(v1::PAYLOAD_FORMAT_JSON_LINES);
  auto response = client_->Evaluate(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->verdicts_size(), 2);
  EXPECT_EQ(response->verdicts(0).reject_field(), "record");
  EXPECT_EQ(response->verdicts(1).reject_field(), "record");
  request.set_payload_format(v1::PAYLOAD_FORMAT_AUTO);
  response = client_->Evaluate(request);
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->verdicts_size(), 1);
  EXPECT_EQ(response->verdicts(0).reject_field(), "payload");
}

// A stream the server ends fails the pipeline with the server's status, after
// every earlier response was handed over; it never hangs.
TEST_F(DetectionServiceTest, PipelineFailsWithTheServersStatus) {
  max_events_ = 2;
  Start(engine::Config{});
  int responses = 0;
  EvaluatePipeline pipeline(*client_, {.streams = 2, .window = 2},
                            [&](const v1::EvaluateResponse&) { ++responses; });
  absl::Status status;
  for (int i = 0; i < 10 && status.ok(); ++i) {
    status = pipeline.Send(Request(Burst(i < 3 ? 1 : 3, i * 10)));  // the 4th is over the limit
  }
  if (status.ok()) status = pipeline.Finish();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("max_events_per_request"), std::string::npos) << status;
  EXPECT_EQ(responses, 3);
  EXPECT_EQ(pipeline.Send(Request(Burst(1, 0))).code(), status.code()) << "broken for good";
}

// The client rides out a restart: calls made while the server is down are
// retried (UNAVAILABLE) until it is back on the same address.
TEST_F(DetectionServiceTest, ClientRidesOutAShortRestart) {
  ASSERT_TRUE(client_->Evaluate(Request(Burst(1, 0))).ok());
  const int port = server_->port();
  server_.reset();
  std::thread restart([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    config_.server.listen = "127.0.0.1:" + std::to_string(port);
    server_ = service::Server::Start(config_).value();
  });
  auto response = client_->Evaluate(Request(Burst(2, 100)));
  restart.join();
  EXPECT_TRUE(response.ok()) << response.status();
}

// On shutdown an open stream ends with UNAVAILABLE (clients retry it), not
// CANCELLED, and every request answered before stands.
TEST_F(DetectionServiceTest, ShutdownEndsStreamsWithUnavailable) {
  auto stub = RawStub();
  grpc::ClientContext context;
  auto stream = stub->EvaluateStream(&context);
  ASSERT_TRUE(stream->Write(Request(Burst(1, 0))));
  v1::EvaluateResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.accepted(), 1);
  server_->Shutdown(absl::Seconds(5));  // the stream waits for its next request
  while (stream->Read(&response)) {
  }
  const grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_NE(status.error_message().find("shutting down"), std::string::npos);
}

TEST_F(DetectionServiceTest, BatchBoundariesAndOrderDoNotChangeFinalAlerts) {
  // Two identities, two bursts each (one pair joined by suppression), noise.
  std::vector<std::string> records;
  for (const char* user : {"alice", "bob"}) {
    for (int64_t start : {0, 200, 2000}) {
      for (int i = 0; i < 7; ++i) {
        records.push_back(Record().User(user).AtSecond(start + i).Action(kActions[i]).Json());
      }
    }
    records.push_back(Record().User(user).AtSecond(100).Agent("Boto3/1.28").Json());
  }
  auto final_alerts = [&](const std::vector<std::string>& input, int batch) {
    Start(engine::Config{});
    std::map<std::string, v1::Alert> alerts;
    absl::StatusOr<Client::RecordsResult> r = client_->EvaluateRecords(input, batch);
    EXPECT_TRUE(r.ok()) << r.status();
    if (r.ok()) {
      for (const auto& a : r->response.alerts()) alerts[a.alert().alert_id()] = a.alert();
    }
    std::set<std::tuple<std::string, int64_t, int64_t, int64_t>> out;
    for (const auto& [id, a] : alerts) {
      if (a.superseded_by().empty()) {
        out.emplace(a.identity(), a.window_start().seconds(), a.window_end().seconds(),
                    a.event_count());
      }
    }
    return out;
  };
  const auto expected = final_alerts(records, 1000);
  EXPECT_EQ(expected.size(), 4u);
  std::mt19937 rng(42);
  for (int batch : {1, 3, 10}) {
    std::shuffle(records.begin(), records.end(), rng);
    EXPECT_EQ(final_alerts(records, batch), expected) << "batch " << batch;
  }
}

TEST_F(DetectionServiceTest, ConcurrentCallersGetTheSameAlertsAsOne) {
  // 8 identities x 3 bursts, sent by 4 threads at once in interleaved batches,
  // while a fifth thread runs lookups: the final alerts equal a serial run's.
  std::vector<std::string> records;
  for (int u = 0; u < 8; ++u) {
    for (int b = 0; b < 3; ++b) {
      for (int i = 0; i < 7; ++i) {
        records.push_back(Record()
                              .User("user" + std::to_string(u))
                              .Ip("198.51.100." + std::to_string(u + 1))
                              .AtSecond(b * 1200 + i)
                              .Action(kActions[i])
                              .Json());
      }
    }
  }
  auto summarize = [](const std::map<std::string, v1::Alert>& alerts) {
    std::set<std::tuple<std::string, int64_t, int64_t>> out;
    for (const auto& [id, a] : alerts) {
      if (a.superseded_by().empty()) {
        out.emplace(a.identity(), a.window_start().seconds(), a.event_count());
      }
    }
    return out;
  };
  std::map<std::string, v1::Alert> serial;
  {
    absl::StatusOr<Client::RecordsResult> r = client_->EvaluateRecords(records, 50);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const auto& a : r->response.alerts()) serial[a.alert().alert_id()] = a.alert();
  }
  Start(engine::Config{});
  std::mutex mu;
  std::map<std::string, v1::Alert> concurrent;
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto client =
          Client::Connect({.target = "127.0.0.1:" + std::to_string(server_->port())}).value();
      std::vector<std::string> mine;
      for (size_t i = t; i < records.size(); i += 4) mine.push_back(records[i]);
      absl::StatusOr<Client::RecordsResult> r = client->EvaluateRecords(mine, 7);
      ASSERT_TRUE(r.ok()) << r.status();
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& a : r->response.alerts()) {
        // Keep the most complete state seen of each alert.
        auto& kept = concurrent[a.alert().alert_id()];
        if (a.alert().update_count() >= kept.update_count()) kept = a.alert();
      }
    });
  }
  std::thread reader([&] {
    auto client =
        Client::Connect({.target = "127.0.0.1:" + std::to_string(server_->port())}).value();
    while (!done) {
      (void)client->GetIdentity("arn:aws:iam::111122223333:user/user3");
      (void)client->ListAlerts({});
    }
  });
  for (auto& th : threads) th.join();
  done = true;
  reader.join();
  EXPECT_EQ(summarize(serial).size(), 24u);
  EXPECT_EQ(summarize(concurrent), summarize(serial));
}

TEST_F(DetectionServiceTest, GetIdentityThroughTheClient) {
  auto missing = client_->GetIdentity("arn:aws:iam::111122223333:user/nobody");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("never been seen"), std::string::npos);
  EXPECT_EQ(client_->GetIdentity("").status().code(), absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(client_->Evaluate(Request(Burst(6, 0))).ok());
  auto profile = client_->GetIdentity("arn:aws:iam::111122223333:user/alice");
  ASSERT_TRUE(profile.ok()) << profile.status();
  EXPECT_EQ(profile->event_count(), 6);
  EXPECT_FALSE(profile->mature());
  ASSERT_EQ(profile->networks_size(), 1);
  EXPECT_EQ(profile->networks(0).network(), "198.51.100.7/32");
  EXPECT_EQ(profile->recent_discovery_calls(), 6);
  ASSERT_EQ(profile->open_alerts_size(), 1);
  ASSERT_EQ(profile->recent_alerts_size(), 1);
  EXPECT_EQ(profile->open_alerts(0).alert_id(), profile->recent_alerts(0).alert_id());
}

TEST_F(DetectionServiceTest, ForgetIdentityStartsItAfreshInMemoryAndOnDisk) {
  const std::string alice = "arn:aws:iam::111122223333:user/alice";
  std::vector<std::string> before, after;
  for (int i = 0; i < 5; ++i)
    before.push_back(Record().AtSecond(i).Action("PutObject").NewId().Json());
  for (int i = 5; i < 8; ++i)
    after.push_back(Record().AtSecond(i).Action("PutObject").NewId().Json());
  ASSERT_TRUE(client_->Evaluate(Request(before)).ok());
  ASSERT_TRUE(client_->ForgetIdentity(alice).ok());
  EXPECT_EQ(client_->GetIdentity(alice).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(client_->Evaluate(Request(after)).ok());
  EXPECT_EQ(client_->GetIdentity(alice)->event_count(), 3);
  Restart();
  EXPECT_EQ(client_->GetIdentity(alice)->event_count(), 3);
}

// ForgetIdentity racing Evaluate of the same identity: whatever the interleaving,
// what memory shows is what disk holds (a restart shows the same).
TEST_F(DetectionServiceTest, ForgetRacingEvaluateLeavesMemoryAndDiskAgreeing) {
  const std::string alice = "arn:aws:iam::111122223333:user/alice";
  for (int round = 0; round < 3; ++round) {
    std::thread evaluate([&] {
      for (int i = 0; i < 200; ++i) {
        const std::string json =
            Record().AtSecond(round * 1000 + i).Action("PutObject").NewId().Json();
        EXPECT_TRUE(client_->Evaluate(Request({json})).ok());
      }
    });
    for (int i = 0; i < 60; ++i) {
      absl::Status s = client_->ForgetIdentity(alice);
      EXPECT_TRUE(s.ok() || s.code() == absl::StatusCode::kNotFound) << s;
    }
    evaluate.join();
    auto in_memory = client_->GetIdentity(alice);
    Restart();
    auto on_disk = client_->GetIdentity(alice);
    ASSERT_EQ(in_memory.status().code(), on_disk.status().code()) << "round " << round;
    if (in_memory.ok()) {
      EXPECT_EQ(in_memory->event_count(), on_disk->event_count()) << "round " << round;
      EXPECT_EQ(in_memory->first_seen().seconds(), on_disk->first_seen().seconds());
    }
  }
}

TEST_F(DetectionServiceTest, ListAlertsPagesThroughHistory) {
  for (int u = 0; u < 5; ++u) {
    std::vector<std::string> records;
    for (int i = 0; i < 6; ++i) {
      records.push_back(Record()
                            .User("user" + std::to_string(u))
                            .AtSecond(u * 100 + i)
                            .Action(kActions[i])
                            .Json());
    }
    ASSERT_TRUE(client_->Evaluate(Request(records)).ok());
  }
  v1::ListAlertsRequest request;
  request.set_page_size(2);
  std::vector<std::string> seen;
  for (int page = 0; page < 10; ++page) {
    auto response = client_->ListAlerts(request);
    ASSERT_TRUE(response.ok()) << response.status();
    for (const v1::Alert& a : response->alerts()) seen.push_back(a.identity());
    if (response->next_page_token().empty()) break;
    request.set_page_token(response->next_page_token());
  }
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen.front(), "arn:aws:iam::111122223333:user/user4");  // newest first
  v1::ListAlertsRequest bad;
  bad.set_rule_id("no-such-rule");
  EXPECT_EQ(client_->ListAlerts(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad.Clear();
  bad.set_page_size(5000);
  EXPECT_EQ(client_->ListAlerts(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

// Trust management (issue 11 item 6): broad prefixes and unknown identities are
// refused unless forced, and trusted networks can be listed, renewed with an
// expiry, and removed, through the real client.
TEST_F(DetectionServiceTest, TrustedNetworksAreCheckedListedAndRemoved) {
  ASSERT_TRUE(client_->Evaluate(Request(Burst(1, 0))).ok());  // alice is seen
  const std::string alice = "arn:aws:iam::111122223333:user/alice";
  v1::AddKnownNetworkRequest everything;
  everything.set_account_id("111122223333");
  everything.set_cidr("0.0.0.0/0");
  auto r = client_->AddKnownNetwork(everything);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
  EXPECT_NE(r.status().message().find("min_trusted_prefix_v4"), std::string::npos);
  everything.set_cidr("2001::/16");
  EXPECT_EQ(client_->AddKnownNetwork(everything).status().code(),
            absl::StatusCode::kInvalidArgument);
  everything.set_force(true);
  EXPECT_TRUE(client_->AddKnownNetwork(everything).ok());

  v1::AddKnownNetworkRequest ghost;
  ghost.set_identity("arn:aws:iam::111122223333:user/alcie");  // a typo
  ghost.set_cidr("192.0.2.0/24");
  r = client_->AddKnownNetwork(ghost);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kNotFound) << r.status();
  EXPECT_NE(r.status().message().find("never been seen"), std::string::npos);
  ghost.set_force(true);
  EXPECT_TRUE(client_->AddKnownNetwork(ghost).ok());

  v1::AddKnownNetworkRequest vpn;
  vpn.set_identity(alice);
  vpn.set_cidr("192.0.2.0/24");
  ASSERT_TRUE(client_->AddKnownNetwork(vpn).ok());
  vpn.mutable_expires_at()->set_seconds(1800000000);  // renewed with an expiry
  ASSERT_TRUE(client_->AddKnownNetwork(vpn).ok());
  Restart();
  v1::ListKnownNetworksRequest list;
  list.set_identity(alice);
  auto listed = client_->ListKnownNetworks(list);
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->networks_size(), 1);
  EXPECT_EQ(listed->networks(0).network(), "192.0.2.0/24");
  EXPECT_EQ(listed->networks(0).expires_at().seconds(), 1800000000);
  EXPECT_GT(listed->networks(0).added_at().seconds(), 0);
  list.set_account_id("111122223333");
  listed = client_->ListKnownNetworks(list);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->networks_size(), 1);
  EXPECT_EQ(listed->networks(0).network(), "2001::/16");
  EXPECT_FALSE(listed->networks(0).has_expires_at());

  v1::RemoveKnownNetworkRequest remove;
  remove.set_identity(alice);
  remove.set_cidr("192.0.2.0/24");
  ASSERT_TRUE(client_->RemoveKnownNetwork(remove).ok());
  EXPECT_EQ(client_->RemoveKnownNetwork(remove).status().code(), absl::StatusCode::kNotFound);
  list.set_identity(alice);
  EXPECT_EQ(client_->ListKnownNetworks(list)->networks_size(), 0);
  Restart();
  EXPECT_EQ(client_->ListKnownNetworks(list)->networks_size(), 0) << "removed on disk too";
}

TEST_F(DetectionServiceTest, FeedbackCallsCheckTheirArguments) {
  ASSERT_TRUE(client_->Evaluate(Request(Burst(1, 0))).ok());  // alice is seen
  v1::AddKnownNetworkRequest trust;
  trust.set_identity("arn:aws:iam::111122223333:user/alice");
  trust.set_cidr("10.0.0.1/8");
  auto r = client_->AddKnownNetwork(trust);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("cidr"), std::string::npos);
  trust.set_cidr("10.0.0.0/24");
  r = client_->AddKnownNetwork(trust);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->network(), "10.0.0.0/24");
  v1::AddKnownNetworkRequest no_scope;
  no_scope.set_cidr("10.0.0.0/8");
  EXPECT_EQ(client_->AddKnownNetwork(no_scope).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(client_->ForgetIdentity("arn:aws:iam::111122223333:user/ghost").code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace trailsentry::testing
