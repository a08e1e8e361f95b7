// Alerts for SOAR through the real server and client: triage (GetAlert,
// UpdateAlert), ListAlerts by status and updated_since, WatchAlerts from a
// cursor across restarts and shutdowns, and webhooks to a real HTTP receiver
// that is down at first.
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "server/delivery/webhook_sink.h"
#include "server/engine/alert_proto.h"
#include "tests/service/detection_fixture.h"
#include "tests/testing/certificates.h"
#include "tests/testing/free_port.h"

namespace trailsentry::testing {
namespace {

class AlertDeliveryTest : public DetectionServiceTest {
 protected:
  // A burst (NEW), two more calls (UPDATED), triage (TRIAGED): three changes.
  std::string ThreeChanges() {
    auto opened = client_->Evaluate(Request(Burst(6, 0)));
    EXPECT_TRUE(opened.ok()) << opened.status();
    const std::string id = opened->alerts(0).alert().alert_id();
    EXPECT_TRUE(client_->Evaluate(Request({Record().AtSecond(7).Action("ListKeys").Json()})).ok());
    v1::UpdateAlertRequest triage;
    triage.set_alert_id(id);
    triage.set_status(v1::Alert::ACKNOWLEDGED);
    EXPECT_TRUE(client_->UpdateAlert(triage).ok());
    return id;
  }

  // The changes after `after`, stopping after `n`.
  std::vector<v1::AlertChange> Watch(int64_t after, int n) {
    v1::WatchAlertsRequest request;
    request.set_after_sequence(after);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    std::vector<v1::AlertChange> out;
    absl::Status s = client_->WatchAlerts(request, context, [&](const v1::AlertChange& c) {
      out.push_back(c);
      return static_cast<int>(out.size()) < n;
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  v1::UpdateAlertRequest Update(const std::string& id) {
    v1::UpdateAlertRequest r;
    r.set_alert_id(id);
    return r;
  }
};

TEST_F(AlertDeliveryTest, EvaluateAnswersAlertsWithTheirTriageSequenceAndLink) {
  engine::Config config;
  config.server.alerts.link_template = "https://soar.example/{tenant}/alerts/{alert_id}";
  Start(config);
  const int64_t before = absl::ToUnixMillis(absl::Now());
  auto response = client_->Evaluate(Request(Burst(6, 0)));
  ASSERT_TRUE(response.ok());
  ASSERT_EQ(response->alerts_size(), 1);
  const v1::AlertChange& change = response->alerts(0);
  EXPECT_EQ(change.sequence(), 1);
  EXPECT_EQ(change.alert().status(), v1::Alert::OPEN);
  EXPECT_EQ(change.alert().change_sequence(), 1);
  EXPECT_GE(engine::FromTimestamp(change.alert().created_at()), before);
  EXPECT_EQ(change.alert().link(),
            "https://soar.example/default/alerts/" + change.alert().alert_id());
  EXPECT_EQ(change.alert().reason(),
            "arn:aws:iam::111122223333:user/alice made 6 distinct discovery calls through the AWS "
            "CLI within 5.0 s from 198.51.100.7: DescribeInstances, DescribeSecurityGroups, "
            "GetCallerIdentity, ListBuckets, ListRoles, ListUsers (6 calls in all)");
  // The first five of its six calls, compact, earliest first.
  ASSERT_EQ(change.alert().sample_events_size(), 5);
  EXPECT_EQ(change.alert().sample_events(0).event_name(), "DescribeInstances");
  EXPECT_EQ(change.alert().sample_events(0).source_ip(), "198.51.100.7");
  EXPECT_EQ(change.alert().sample_events(4).event_name(), kActions[4]);
  EXPECT_EQ(change.alert().sample_events(4).event_time().seconds(),
            change.alert().first_event_time().seconds() + 4);
  // GetAlert answers the same alert.
  absl::StatusOr<v1::Alert> got = client_->GetAlert(change.alert().alert_id());
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->SerializeAsString(), change.alert().SerializeAsString());
  EXPECT_EQ(client_->GetAlert("burst-nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AlertDeliveryTest, UpdateAlertChecksItsArguments) {
  const std::string id = client_->Evaluate(Request(Burst(6, 0)))->alerts(0).alert().alert_id();
  auto code = [&](const v1::UpdateAlertRequest& r) { return client_->UpdateAlert(r).status(); };
  v1::UpdateAlertRequest r = Update(id);
  EXPECT_EQ(code(r).code(), absl::StatusCode::kInvalidArgument);  // nothing to change
  r.set_status(v1::Alert::RESOLVED);
  absl::Status s = code(r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("disposition: required to resolve"), std::string::npos) << s;
  r.set_status(v1::Alert::ACKNOWLEDGED);
  r.set_disposition(v1::Alert::BENIGN);
  EXPECT_NE(code(r).message().find("disposition: only with status RESOLVED"), std::string::npos);
  r = Update(id);
  r.set_note(std::string(5000, 'x'));
  EXPECT_NE(code(r).message().find("note: longer than 4096"), std::string::npos);
  r = Update("burst-nope");
  r.set_assignee("bob");
  EXPECT_EQ(code(r).code(), absl::StatusCode::kNotFound);
  r = Update(id);
  r.set_status(static_cast<v1::Alert::Status>(17));
  EXPECT_NE(code(r).message().find("status: unknown value 17"), std::string::npos);
  // None of these changed anything.
  EXPECT_EQ(client_->GetAlert(id)->change_sequence(), 1);
}

TEST_F(AlertDeliveryTest, ResolvedAlertsAreFoundByStatusAndByLastChange) {
  const std::string first = ThreeChanges();
  // A second identity's alert, left open.
  std::vector<std::string> bob;
  for (int i = 0; i < 6; ++i) {
    bob.push_back(Record().AtSecond(100 + i).User("bob").Action(kActions[i]).Json());
  }
  const std::string second = client_->Evaluate(Request(bob))->alerts(0).alert().alert_id();
  // Times are in ms: the poll's time is strictly between the two changes.
  absl::SleepFor(absl::Milliseconds(5));
  const int64_t before_resolve = absl::ToUnixMillis(absl::Now());
  absl::SleepFor(absl::Milliseconds(5));
  v1::UpdateAlertRequest resolve = Update(first);
  resolve.set_status(v1::Alert::RESOLVED);
  resolve.set_disposition(v1::Alert::FALSE_POSITIVE);
  resolve.set_assignee("carol");
  resolve.set_note("CI runner's nightly inventory");
  resolve.set_author("carol");
  absl::StatusOr<v1::Alert> resolved = client_->UpdateAlert(resolve);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(resolved->status(), v1::Alert::RESOLVED);
  EXPECT_EQ(resolved->disposition(), v1::Alert::FALSE_POSITIVE);
  ASSERT_EQ(resolved->notes_size(), 1);
  EXPECT_EQ(resolved->notes(0).author(), "carol");

  v1::ListAlertsRequest by_status;
  by_status.set_status(v1::Alert::RESOLVED);
  auto resolved_list = client_->ListAlerts(by_status);
  ASSERT_TRUE(resolved_list.ok());
  ASSERT_EQ(resolved_list->alerts_size(), 1);
  EXPECT_EQ(resolved_list->alerts(0).alert_id(), first);
  by_status.set_status(v1::Alert::OPEN);
  auto open = client_->ListAlerts(by_status);
  ASSERT_TRUE(open.ok());
  ASSERT_EQ(open->alerts_size(), 1);
  EXPECT_EQ(open->alerts(0).alert_id(), second);

  // What changed since a poll: only the resolved one, though it opened first.
  v1::ListAlertsRequest since;
  *since.mutable_updated_since() = engine::ToTimestamp(before_resolve);
  auto changed = client_->ListAlerts(since);
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_EQ(changed->alerts_size(), 1);
  EXPECT_EQ(changed->alerts(0).alert_id(), first);
  since.set_identity("arn:x");
  EXPECT_EQ(client_->ListAlerts(since).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AlertDeliveryTest, WatchGivesEveryChangeInOrderAndResumesAcrossRestarts) {
  const std::string id = ThreeChanges();
  std::vector<v1::AlertChange> all = Watch(0, 3);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].kind(), v1::AlertChange::NEW);
  EXPECT_EQ(all[1].kind(), v1::AlertChange::UPDATED);
  EXPECT_EQ(all[2].kind(), v1::AlertChange::TRIAGED);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(all[i].sequence(), i + 1);
    EXPECT_EQ(all[i].alert().alert_id(), id);
  }
  EXPECT_EQ(all[1].alert().event_count(), 7);
  EXPECT_EQ(all[2].alert().status(), v1::Alert::ACKNOWLEDGED);

  Restart();
  std::vector<v1::AlertChange> rest = Watch(1, 2);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].SerializeAsString(), all[1].SerializeAsString());

  // Live: a watcher waiting at the end gets the next commit as it happens.
  std::vector<v1::AlertChange> live;
  std::thread watcher([&] { live = Watch(3, 1); });
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_TRUE(client_->Evaluate(Request({Record().AtSecond(8).Action("ListAliases").Json()})).ok());
  watcher.join();
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0].sequence(), 4);
  EXPECT_EQ(live[0].kind(), v1::AlertChange::UPDATED);
}

TEST_F(AlertDeliveryTest, WatchRefusesACursorItCannotServe) {
  ThreeChanges();
  v1::WatchAlertsRequest request;
  request.set_after_sequence(99);
  grpc::ClientContext context;
  absl::Status s =
      client_->WatchAlerts(request, context, [](const v1::AlertChange&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(s.message().find("past the newest change, 3"), std::string::npos) << s;
}

// What the server sends, seen on a raw stub (the client library's retry policy
// would call again, and wait for the server to come back).
TEST_F(AlertDeliveryTest, ShutdownEndsWatchesWithUnavailable) {
  grpc::Status status;
  std::unique_ptr<v1::Detection::Stub> stub = RawStub();
  std::thread watcher([&] {
    v1::WatchAlertsRequest request;
    request.set_from_now(true);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto reader = stub->WatchAlerts(&context, request);
    v1::AlertChange change;
    while (reader->Read(&change)) {
    }
    status = reader->Finish();
  });
  absl::SleepFor(absl::Milliseconds(300));
  server_->Shutdown(absl::Seconds(5));
  watcher.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

// Resolving unusual-IP alerts feeds the baselines: TRUE_POSITIVE marks the
// network hostile (the same identity's next single call from it alerts, where
// before the attacker's own calls made it known), FALSE_POSITIVE can trust it.
TEST_F(AlertDeliveryTest, ResolutionsFeedTheBaselines) {
  engine::Config config;
  config.unusual_ip.learning = absl::Hours(1);
  Start(config);
  const std::string boto = "Boto3/1.34.45 md/Botocore#1.34.45";
  auto ordinary = [&](const std::string& user, const std::string& ip, int64_t t) {
    return Record()
        .User(user)
        .Ip(ip)
        .AtSecond(t)
        .Agent(boto)
        .Action("PutObject")
        .Source("s3.amazonaws.com")
        .NewId()
        .Json();
  };
  auto discovery = [&](const std::string& user, const std::string& ip, int64_t t,
                       const std::string& action) {
    return Record().User(user).Ip(ip).AtSecond(t).Agent(boto).Action(action).NewId().Json();
  };
  std::vector<std::string> history;
  for (int64_t t = 0; t < 3 * 3600; t += 600) {
    history.push_back(ordinary("alice", "203.0.113.7", t));
    history.push_back(ordinary("bob", "203.0.113.8", t));
  }
  ASSERT_TRUE(client_->Evaluate(Request(history)).ok());
  auto opened =
      client_->Evaluate(Request({discovery("alice", "185.220.101.4", 4 * 3600, "ListUsers"),
                                 discovery("alice", "185.220.101.4", 4 * 3600 + 1, "ListRoles"),
                                 discovery("bob", "198.51.100.9", 4 * 3600, "ListUsers"),
                                 discovery("bob", "198.51.100.9", 4 * 3600 + 1, "ListRoles")}));
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->alerts_size(), 2);
  std::string attacker_alert, vpn_alert;
  for (const v1::AlertChange& c : opened->alerts()) {
    (c.alert().network() == "185.220.101.4/32" ? attacker_alert : vpn_alert) = c.alert().alert_id();
  }

  v1::UpdateAlertRequest tp = Update(attacker_alert);
  tp.set_status(v1::Alert::RESOLVED);
  tp.set_disposition(v1::Alert::TRUE_POSITIVE);
  tp.set_trust_network(v1::UpdateAlertRequest::FOR_IDENTITY);
  EXPECT_NE(client_->UpdateAlert(tp).status().message().find(
                "trust_network: only when resolving FALSE_POSITIVE or BENIGN"),
            std::string::npos);
  tp.clear_trust_network();
  absl::StatusOr<v1::Alert> resolved = client_->UpdateAlert(tp);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  ASSERT_EQ(resolved->notes_size(), 1);
  EXPECT_EQ(resolved->notes(0).text(), "marked 185.220.101.4/32 hostile for the tenant");
  v1::ListKnownNetworksRequest hostile;
  hostile.set_hostile(true);
  ASSERT_EQ(client_->ListKnownNetworks(hostile)->networks_size(), 1);

  // The attacker goes on from the same network: their calls teach nothing, and a
  // single discovery call hours later alerts.
  std::vector<std::string> later;
  for (int64_t t = 5 * 3600; t < 8 * 3600; t += 600)
    later.push_back(ordinary("alice", "185.220.101.4", t));
  ASSERT_TRUE(client_->Evaluate(Request(later)).ok());
  // (Within the alert's suppression span the call joins the resolved alert,
  // which goes out as UPDATED; an identity still learning opens a new one.)
  auto again =
      client_->Evaluate(Request({discovery("alice", "185.220.101.4", 9 * 3600, "ListBuckets"),
                                 discovery("carol", "185.220.101.4", 9 * 3600, "ListBuckets")}));
  ASSERT_TRUE(again.ok());
  for (const v1::Verdict& v : again->verdicts()) {
    EXPECT_TRUE(std::count(v.flags().begin(), v.flags().end(), v1::UNUSUAL_NETWORK));
  }
  ASSERT_EQ(again->alerts_size(), 2);
  for (const v1::AlertChange& c : again->alerts()) {
    if (c.alert().identity() == "arn:aws:iam::111122223333:user/carol") {
      EXPECT_EQ(c.kind(), v1::AlertChange::NEW);
      EXPECT_EQ(c.alert().event_count(), 1);
    } else {
      EXPECT_EQ(c.alert().alert_id(), attacker_alert);
      EXPECT_EQ(c.alert().event_count(), 3);
      EXPECT_EQ(c.alert().status(), v1::Alert::RESOLVED);
    }
  }
  auto profile = client_->GetIdentity("arn:aws:iam::111122223333:user/alice");
  ASSERT_TRUE(profile.ok());
  for (const v1::KnownNetwork& n : profile->networks()) {
    if (n.network() == "185.220.101.4/32") {
      EXPECT_TRUE(n.hostile());
      EXPECT_FALSE(n.known());
    }
  }

  // A false positive trusts the network for the account.
  v1::UpdateAlertRequest fp = Update(vpn_alert);
  fp.set_status(v1::Alert::RESOLVED);
  fp.set_disposition(v1::Alert::FALSE_POSITIVE);
  fp.set_trust_network(v1::UpdateAlertRequest::FOR_ACCOUNT);
  ASSERT_TRUE(client_->UpdateAlert(fp).ok());
  v1::ListKnownNetworksRequest account;
  account.set_account_id("111122223333");
  auto trusted = client_->ListKnownNetworks(account);
  ASSERT_TRUE(trusted.ok());
  ASSERT_EQ(trusted->networks_size(), 1);
  EXPECT_EQ(trusted->networks(0).network(), "198.51.100.9/32");
  // A burst alert has no network to trust.
  auto bursty = client_->Evaluate(Request(Burst(6, 10 * 3600)));
  ASSERT_TRUE(bursty.ok());
  std::string burst;
  for (const v1::AlertChange& c : bursty->alerts()) {
    if (c.alert().rule_id() == "aws-discovery-cli-burst") burst = c.alert().alert_id();
  }
  fp = Update(burst);
  fp.set_status(v1::Alert::RESOLVED);
  fp.set_disposition(v1::Alert::BENIGN);
  fp.set_trust_network(v1::UpdateAlertRequest::FOR_IDENTITY);
  EXPECT_NE(client_->UpdateAlert(fp).status().message().find("only unusual-IP alerts"),
            std::string::npos);
}

// A receiver the test starts and stops: what it was sent, and whether each
// signature matched.
class Receiver {
 public:
  // `tls`: serve HTTPS with this certificate and key (PEM files).
  Receiver(int port, std::string secret, int fail_first = 0,
           absl::Duration delay = absl::ZeroDuration(),
           std::optional<std::pair<std::string, std::string>> tls = std::nullopt)
      : secret_(std::move(secret)),
        fail_(fail_first),
        server_(tls ? std::make_unique<httplib::SSLServer>(tls->first.c_str(), tls->second.c_str())
                    : std::make_unique<httplib::Server>()) {
    server_->Post("/hook", [this, delay](const httplib::Request& req, httplib::Response& res) {
      absl::SleepFor(delay);
      if (fail_.fetch_sub(1) > 0) {
        res.status = 503;
        return;
      }
      int64_t sequence = 0;
      EXPECT_TRUE(absl::SimpleAtoi(req.get_header_value("X-Trailsentry-Sequence"), &sequence));
      std::lock_guard<std::mutex> lock(mu_);
      sequences_.push_back(sequence);
      bodies_.push_back(req.body);
      signed_ &=
          req.get_header_value("X-Trailsentry-Signature") == delivery::SignBody(secret_, req.body);
      res.status = 204;
    });
    EXPECT_TRUE(server_->bind_to_port("127.0.0.1", port));
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  ~Receiver() {
    server_->stop();
    thread_.join();
  }
  std::vector<int64_t> sequences() {
    std::lock_guard<std::mutex> lock(mu_);
    return sequences_;
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  bool all_signed() {
    std::lock_guard<std::mutex> lock(mu_);
    return signed_;
  }
  // Waits up to 20 s for `n` deliveries.
  bool Await(size_t n) {
    for (int i = 0; i < 400 && sequences().size() < n; ++i) absl::SleepFor(absl::Milliseconds(50));
    return sequences().size() >= n;
  }

 private:
  const std::string secret_;
  std::atomic<int> fail_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<int64_t> sequences_;
  std::vector<std::string> bodies_;
  bool signed_ = true;
};

class WebhookTest : public AlertDeliveryTest {
 protected:
  void StartWithWebhook(int port, bool ocsf = false, const std::string& url = "",
                        const std::string& ca_file = "") {
    { std::ofstream(secret_dir_.path() + "/secret") << kSecret << "\n"; }
    engine::Config config;
    engine::WebhookConfig hook;
    hook.name = "soar";
    hook.url = url.empty() ? "http://127.0.0.1:" + std::to_string(port) + "/hook" : url;
    hook.ca_file = ca_file;
    hook.secret_file = secret_dir_.path() + "/secret";
    hook.timeout = absl::Seconds(1);
    hook.max_backoff = absl::Seconds(1);
    hook.ocsf = ocsf;
    config.server.alerts.webhooks.push_back(hook);
    Start(config);
  }
  static constexpr char kSecret[] = "0123456789abcdef-test-secret";
  TempDir secret_dir_;
};

TEST_F(WebhookTest, ChangesMadeWhileTheReceiverIsDownArriveInOrderOnceItIsUp) {
  const int port = FreePort();
  StartWithWebhook(port);
  ThreeChanges();
  absl::SleepFor(absl::Milliseconds(700));             // a few attempts fail
  Receiver receiver(port, kSecret, /*fail_first=*/1);  // and one more answers 503
  ASSERT_TRUE(receiver.Await(3));
  EXPECT_EQ(receiver.sequences(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_TRUE(receiver.all_signed());

  // The cursor is kept: after a restart only the new change is sent.
  Restart();
  ASSERT_TRUE(client_->Evaluate(Request({Record().AtSecond(8).Action("ListAliases").Json()})).ok());
  ASSERT_TRUE(receiver.Await(4));
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_EQ(receiver.sequences(), (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST_F(WebhookTest, AnOcsfWebhookGetsDetectionFindings) {
  const int port = FreePort();
  Receiver receiver(port, kSecret);
  StartWithWebhook(port, /*ocsf=*/true);
  const std::string id = ThreeChanges();
  ASSERT_TRUE(receiver.Await(3));
  std::vector<std::string> bodies = receiver.bodies();
  const std::vector<std::string> activity = {"\"activity_id\":1", "\"activity_id\":2",
                                             "\"activity_id\":2"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NE(bodies[i].find("\"class_uid\":2004"), std::string::npos) << bodies[i];
    EXPECT_NE(bodies[i].find(activity[i]), std::string::npos) << bodies[i];
    EXPECT_NE(bodies[i].find("\"uid\":\"" + id + "\""), std::string::npos) << bodies[i];
  }
  EXPECT_NE(bodies[2].find("\"status\":\"In Progress\""), std::string::npos) << bodies[2];
  EXPECT_TRUE(receiver.all_signed());
}

// HTTPS: a receiver whose certificate the webhook's ca_file signed gets the
// changes; one the webhook cannot verify gets none (the sink retries).
TEST_F(WebhookTest, HttpsReceiversAreVerified) {
  const std::string d = secret_dir_.path();
  ASSERT_TRUE(MakeTestCertificates(d)) << "openssl failed";
  const int port = FreePort();
  Receiver receiver(port, kSecret, 0, absl::ZeroDuration(),
                    std::make_pair(d + "/server.pem", d + "/server.key"));
  const std::string url = "https://localhost:" + std::to_string(port) + "/hook";
  StartWithWebhook(port, false, url, d + "/ca.pem");
  ThreeChanges();
  ASSERT_TRUE(receiver.Await(3));
  EXPECT_EQ(receiver.sequences(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_TRUE(receiver.all_signed());

  // The same receiver, without the CA that signed it: nothing is delivered.
  StartWithWebhook(port, false, url, "");
  ThreeChanges();
  absl::SleepFor(absl::Seconds(2));
  EXPECT_EQ(receiver.sequences().size(), 3u);
}

TEST_F(WebhookTest, ASlowReceiverNeverSlowsEvaluate) {
  const int port = FreePort();
  StartWithWebhook(port);
  // Answers each delivery after 3 s, past the webhook's 1 s timeout.
  Receiver receiver(port, kSecret, 0, absl::Seconds(3));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(client_->Evaluate(Request(Burst(6, i * 100))).ok());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 2.0);  // each call ~1 ms; one delivery attempt takes 1 s
  EXPECT_TRUE(receiver.sequences().empty());
}

}  // namespace
}  // namespace trailsentry::testing
