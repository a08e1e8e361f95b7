// Hostile input over both transports (issue 9): every case goes through the real
// client (gRPC) and through the HTTP gateway, and must get a clear error or a
// clear verdict, never a crash, never unbounded memory, never an undecodable reply.
#include <arpa/inet.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/client.h"
#include "server/engine/printable.h"
#include "server/service/server.h"
#include "tests/testing/cloudtrail_builder.h"
#include "tests/testing/gzip.h"
#include "tests/testing/temp_dir.h"

namespace trailsentry::testing {
namespace {

// `members` gzip members of 16 MiB of spaces each: 16 MiB x members inflated, from
// about 16 KiB x members on the wire.
std::string GzipBomb(int members) {
  const std::string member = Gzip(std::string(size_t{16} << 20, ' '));
  std::string out;
  for (int i = 0; i < members; ++i) out += member;
  return out;
}

// What either transport answered: an error (code + message), or a response.
struct Answer {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;
  v1::EvaluateResponse response;
};

class HostileInputTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override { Start(engine::Config{}); }

  void Start(engine::Config config) {
    client_.reset();
    server_.reset();
    config.server.listen = "127.0.0.1:0";
    config.server.data_dir = dir_.path() + "/data";
    server_ = service::Server::Start(config, {.http_listen = "127.0.0.1:0"}).value();
    client_ = Client::Connect({.target = absl::StrCat("127.0.0.1:", server_->port())}).value();
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
    http_->set_read_timeout(60, 0);
  }

  bool Http() const { return std::string(GetParam()) == "http"; }

  Answer Evaluate(const v1::EvaluateRequest& request) {
    Answer a;
    if (!Http()) {
      absl::StatusOr<v1::EvaluateResponse> r = client_->Evaluate(request);
      if (r.ok()) {
        a.response = *std::move(r);
      } else {
        a.code = r.status().code();
        a.message = std::string(r.status().message());
      }
      return a;
    }
    std::string body;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(request, &body).ok());
    return FromHttp(http_->Post("/v1/evaluate", body, "application/json"));
  }

  static Answer FromHttp(const httplib::Result& res) {
    Answer a;
    if (!res) {
      a.code = absl::StatusCode::kUnavailable;
      a.message = "no HTTP response: " + httplib::to_string(res.error());
      return a;
    }
    EXPECT_TRUE(engine::IsPrintable(res->body) || res->body.find('\n') == res->body.size() - 1)
        << "HTTP body is not UTF-8 text";
    if (res->status == 200) {
      EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(res->body, &a.response).ok())
          << res->body.substr(0, 200);
      return a;
    }
    a.code = res->status == 400   ? absl::StatusCode::kInvalidArgument
             : res->status == 429 ? absl::StatusCode::kResourceExhausted
             : res->status == 413 ? absl::StatusCode::kResourceExhausted
                                  : absl::StatusCode::kInternal;
    a.message = absl::StrCat("HTTP ", res->status, ": ", res->body);
    return a;
  }

  static size_t RssBytes() {
    FILE* f = std::fopen("/proc/self/statm", "r");
    long pages = 0, resident = 0;
    if (f != nullptr) {
      if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
      std::fclose(f);
    }
    return static_cast<size_t>(resident) * 4096;
  }

  // Every string a reply carries is valid UTF-8 on one line.
  static void ExpectPrintable(const v1::EvaluateResponse& r) {
    for (const v1::Verdict& v : r.verdicts()) {
      EXPECT_TRUE(engine::IsPrintable(v.reject_reason())) << v.reject_reason();
      EXPECT_TRUE(engine::IsPrintable(v.reject_field()));
      EXPECT_TRUE(engine::IsPrintable(v.event_id()));
    }
  }

  TempDir dir_;
  std::unique_ptr<service::Server> server_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_P(HostileInputTest, GzipBombIsRefusedBeforeItInflates) {
  // 1 GiB inflated from ~1 MiB: refused at max_inflated_bytes (128 MiB), memory
  // back where it was, the gauge back at zero, and the server still serves.
  v1::EvaluateRequest request;
  request.set_payload(GzipBomb(64));
  const size_t rss_before = RssBytes();
  Answer a = Evaluate(request);
  EXPECT_EQ(a.code, absl::StatusCode::kInvalidArgument) << a.message;
  EXPECT_NE(a.message.find("max_inflated_bytes"), std::string::npos) << a.message;
  EXPECT_NE(a.message.find("nothing was evaluated"), std::string::npos) << a.message;
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  // (Sanitizer allocators keep freed memory in quarantine: RSS says nothing there.)
  EXPECT_LT(RssBytes(), rss_before + (size_t{64} << 20)) << "buffers kept after the request";
#else
  (void)rss_before;
#endif
  EXPECT_EQ(server_->evaluations().in_flight(), 0);
  v1::EvaluateRequest ok;
  ok.add_events()->set_raw_json(Record().Json());
  a = Evaluate(ok);
  EXPECT_EQ(a.code, absl::StatusCode::kOk) << a.message;
}

TEST_P(HostileInputTest, MillionsOfTinyRecordsFailInOneError) {
  // 10.5M "{}" lines in a ~30 KB gzip: one INVALID_ARGUMENT naming the limit,
  // not 10.5M verdicts.
  std::string lines;
  lines.reserve(size_t{3} * 10'500'000);
  for (int i = 0; i < 10'500'000; ++i) lines += "{}\n";
  v1::EvaluateRequest request;
  request.set_payload(Gzip(lines));
  lines = std::string();
  const auto start = std::chrono::steady_clock::now();
  Answer a = Evaluate(request);
  EXPECT_EQ(a.code, absl::StatusCode::kInvalidArgument) << a.message;
  EXPECT_NE(a.message.find("max_events_per_request"), std::string::npos) << a.message;
  EXPECT_EQ(a.response.verdicts_size(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_P(HostileInputTest, RecordsPastTheLimitWithEventsFailTheWholeRequest) {
  // Events and payload records count together; nothing of an over-limit request
  // is evaluated (five calls that would fire later do not).
  engine::Config config;
  config.server.max_events_per_request = 8;
  Start(config);
  v1::EvaluateRequest request;
  const char* actions[] = {"ListUsers", "ListRoles",         "ListBuckets",
                           "ListKeys",  "DescribeInstances", "GetCallerIdentity"};
  for (int i = 0; i < 3; ++i) {
    request.add_events()->set_raw_json(Record().AtSecond(i).Action(actions[i]).Json());
  }
  std::string lines;
  for (int i = 3; i < 9; ++i) lines += Record().AtSecond(i).Action(actions[i % 6]).Json() + "\n";
  request.set_payload(lines);
  Answer a = Evaluate(request);
  EXPECT_EQ(a.code, absl::StatusCode::kInvalidArgument) << a.message;
  EXPECT_NE(a.message.find("3 events"), std::string::npos) << a.message;
  v1::EvaluateRequest rest;
  for (int i = 0; i < 5; ++i) {
    rest.add_events()->set_raw_json(Record().AtSecond(i).Action(actions[i]).Json());
  }
  a = Evaluate(rest);
  ASSERT_EQ(a.code, absl::StatusCode::kOk) << a.message;
  EXPECT_EQ(a.response.alerts_size(), 0);
}

TEST_P(HostileInputTest, RandomBytesGetOneRejectionThatIsValidUtf8) {
  std::mt19937 rng(7);
  std::string bytes(size_t{10} << 20, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  bytes[0] = '\xff';  // not gzip, not JSON
  v1::EvaluateRequest request;
  request.set_payload(bytes);
  Answer a = Evaluate(request);
  ASSERT_EQ(a.code, absl::StatusCode::kOk) << a.message;
  ASSERT_EQ(a.response.verdicts_size(), 1);
  EXPECT_EQ(a.response.verdicts(0).reject_field(), "payload");
  EXPECT_NE(a.response.verdicts(0).reject_reason().find("\\xff"), std::string::npos)
      << a.response.verdicts(0).reject_reason();
  ExpectPrintable(a.response);
}

TEST_P(HostileInputTest, ControlCharactersInRecordsComeBackEscaped) {
  v1::EvaluateRequest request;
  request.add_events()->set_raw_json(Record().At("2026-03-15T09:31:02Z\\n[error] FORGED").Json());
  Answer a = Evaluate(request);
  ASSERT_EQ(a.code, absl::StatusCode::kOk) << a.message;
  ASSERT_EQ(a.response.verdicts_size(), 1);
  EXPECT_EQ(a.response.verdicts(0).reject_field(), "eventTime");
  EXPECT_NE(a.response.verdicts(0).reject_reason().find("\\n[error] FORGED"), std::string::npos)
      << a.response.verdicts(0).reject_reason();
  ExpectPrintable(a.response);
}

TEST_P(HostileInputTest, InvalidUtf8InAStringFieldIsNamed) {
  Answer a;
  if (Http()) {
    a = FromHttp(http_->Post("/v1/evaluate",
                             "{\"events\":[{\"raw_json\":\"{}\"},{\"raw_json\":\"\xff\"}]}",
                             "application/json"));
  } else {
    v1::EvaluateRequest request;
    request.add_events()->set_raw_json("{}");
    request.add_events()->set_raw_json("{\"eventName\":\"\xff\"}");
    a = Evaluate(request);
  }
  EXPECT_EQ(a.code, absl::StatusCode::kInvalidArgument) << a.message;
  EXPECT_NE(a.message.find(Http() ? "body: " : "events[1].raw_json: not valid UTF-8"),
            std::string::npos)
      << a.message;
  if (!a.message.empty() && a.message.back() == '\n') a.message.pop_back();
  EXPECT_TRUE(engine::IsPrintable(a.message)) << a.message;
}

TEST_P(HostileInputTest, StructuredFieldsHaveTheRawLimits) {
  const std::string huge(size_t{10} << 20, 'a');
  const std::vector<std::pair<std::string, std::function<void(v1::CloudTrailEvent&)>>> cases = {
      {"structured.user_identity.arn",
       [&](v1::CloudTrailEvent& e) { e.mutable_user_identity()->set_arn(huge); }},
      {"structured.event_id", [&](v1::CloudTrailEvent& e) { e.set_event_id(huge); }},
      {"structured.user_agent", [&](v1::CloudTrailEvent& e) { e.set_user_agent(huge); }},
      {"structured.user_identity.session_issuer_arn",
       [&](v1::CloudTrailEvent& e) { e.mutable_user_identity()->set_session_issuer_arn(huge); }},
      {"structured.event_name",
       [&](v1::CloudTrailEvent& e) { e.set_event_name(std::string(300, 'L')); }},
  };
  for (const auto& [field, spoil] : cases) {
    v1::EvaluateRequest request;
    v1::CloudTrailEvent* e = request.add_events()->mutable_structured();
    e->mutable_event_time()->set_seconds(1773567000);
    e->set_event_source("iam.amazonaws.com");
    e->set_event_name("ListUsers");
    e->mutable_user_identity()->set_arn("arn:aws:iam::111122223333:user/mallory");
    spoil(*e);
    Answer a = Evaluate(request);
    ASSERT_EQ(a.code, absl::StatusCode::kOk) << field << ": " << a.message;
    ASSERT_EQ(a.response.verdicts_size(), 1) << field;
    EXPECT_EQ(a.response.verdicts(0).status(), v1::Verdict::REJECTED) << field;
    EXPECT_EQ(a.response.verdicts(0).reject_field(), field);
    EXPECT_LT(a.response.ByteSizeLong(), 4096u) << field << ": the value was echoed back";
  }
  // Nothing of them was stored.
  EXPECT_EQ(client_->GetIdentity("arn:aws:iam::111122223333:user/mallory").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_P(HostileInputTest, MaxInFlightHoldsForEveryTransport) {
  engine::Config config;
  config.server.max_in_flight = 1;
  Start(config);
  // Twelve callers at once, each with a request long enough to overlap.
  std::string lines;
  for (int i = 0; i < 10000; ++i) {
    lines += Record().AtSecond(i % 600).Id(absl::StrCat("e", i)).Action("ListUsers").Json() + "\n";
  }
  v1::EvaluateRequest request;
  request.set_payload(lines);
  std::atomic<int> ok{0}, turned_away{0}, other{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> callers;
  for (int i = 0; i < 12; ++i) {
    callers.emplace_back([&] {
      httplib::Client http("127.0.0.1", server_->http_port());
      http.set_read_timeout(60, 0);
      std::string body;
      (void)google::protobuf::util::MessageToJsonString(request, &body);
      while (!go) std::this_thread::yield();
      Answer a = Http() ? FromHttp(http.Post("/v1/evaluate", body, "application/json"))
                        : Evaluate(request);
      if (a.code == absl::StatusCode::kOk) {
        ++ok;
      } else if (a.code == absl::StatusCode::kResourceExhausted) {
        EXPECT_NE(a.message.find("max_in_flight"), std::string::npos) << a.message;
        ++turned_away;
      } else {
        ++other;
      }
    });
  }
  go = true;
  for (std::thread& t : callers) t.join();
  EXPECT_GE(ok, 1);
  EXPECT_GE(turned_away, 1);
  EXPECT_EQ(other, 0);
  EXPECT_EQ(server_->evaluations().in_flight(), 0);
}

INSTANTIATE_TEST_SUITE_P(Transports, HostileInputTest, ::testing::Values("grpc", "http"),
                         [](const auto& info) { return std::string(info.param); });

// HTTP only: framing.
class HttpFramingTest : public HostileInputTest {};

// Sends `bytes` on a fresh connection; what came back until the server closed it
// (or 5 s passed).
std::string RawHttp(int port, const std::string& bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
  (void)!write(fd, bytes.data(), bytes.size());
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST_F(HttpFramingTest, ConflictingContentLengthsAreRefusedAndTheConnectionClosed) {
  const std::string body = "{}";
  const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  std::string reply =
      RawHttp(server_->http_port(),
              "POST /v1/evaluate HTTP/1.1\r\nHost: x\r\nContent-Type: "
              "application/json\r\nContent-Length: 2\r\nContent-Length: " +
                  std::to_string(body.size() + smuggled.size()) + "\r\n\r\n" + body + smuggled);
  EXPECT_EQ(reply.rfind("HTTP/1.1 400", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Length: given 2 times"), std::string::npos) << reply;
  EXPECT_EQ(reply.find("ok\n"), std::string::npos) << "the smuggled request was answered";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3))
      << "the connection was left open";
}

}  // namespace
}  // namespace trailsentry::testing

namespace trailsentry::testing {
namespace {

// Slowloris: `n` connections, each sending a request's header lines one at a
// time, `every` apart, never finishing. Returns when told to stop; counts how
// many the server closed.
class SlowClients {
 public:
  SlowClients(int port, int n, std::chrono::milliseconds every) {
    for (int i = 0; i < n; ++i) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) fds_.push_back(fd);
    }
    thread_ = std::thread([this, every] {
      const std::string first = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
      for (int fd : fds_) (void)!send(fd, first.data(), first.size(), MSG_NOSIGNAL);
      while (!stop_) {
        std::this_thread::sleep_for(every);
        for (size_t i = 0; i < fds_.size(); ++i) {
          if (closed_[i]) continue;
          if (send(fds_[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL) < 0) closed_[i] = true;
          char c;
          if (recv(fds_[i], &c, 1, MSG_DONTWAIT) == 0) closed_[i] = true;
        }
      }
    });
    closed_.assign(fds_.size(), false);
  }
  ~SlowClients() {
    stop_ = true;
    thread_.join();
    for (int fd : fds_) close(fd);
  }
  int closed() const {
    int n = 0;
    for (bool c : closed_) n += c;
    return n;
  }
  size_t size() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
  std::vector<bool> closed_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

bool Healthy(int port, int timeout_s) {
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(timeout_s, 0);
  c.set_read_timeout(timeout_s, 0);
  auto res = c.Get("/healthz");
  return res && res->status == 200;
}

// Keep-alive callers are answered at once: with Nagle's algorithm on, a response
// written in parts waited for the caller's delayed ACK, ~40 ms every request.
TEST_F(HttpFramingTest, KeepAliveRequestsAreNotHeldByDelayedAcks) {
  httplib::Client c("127.0.0.1", server_->http_port());
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);
  v1::EvaluateRequest request;
  request.add_events()->set_raw_json(Record().NewId().Json());
  std::string body;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(request, &body).ok());
  ASSERT_TRUE(c.Post("/v1/evaluate", body, "application/json"));  // connected, warm
  const auto start = std::chrono::steady_clock::now();
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    auto res = c.Post("/v1/evaluate", body, "application/json");
    ASSERT_TRUE(res && res->status == 200) << i;
  }
  const auto per_request = (std::chrono::steady_clock::now() - start) / kRequests;
  EXPECT_LT(per_request, std::chrono::milliseconds(10))
      << std::chrono::duration_cast<std::chrono::milliseconds>(per_request).count() << " ms";
}

TEST_F(HttpFramingTest, SlowClientsDoNotStarveTheGateway) {
  // The attack: 16 sockets, a header line a second. Probes still answer.
  {
    SlowClients slow(server_->http_port(), 16, std::chrono::milliseconds(1000));
    ASSERT_EQ(slow.size(), 16u);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(Healthy(server_->http_port(), 2)) << "probe " << i;
  }
  // More slow clients than worker threads: each is closed once it has taken
  // http_request_timeout without a whole request, and probes answer after that.
  engine::Config config;
  config.server.http_threads = 4;
  config.server.http_request_timeout = absl::Seconds(2);
  Start(config);
  SlowClients slow(server_->http_port(), 40, std::chrono::milliseconds(300));
  std::this_thread::sleep_for(std::chrono::milliseconds(4500));
  EXPECT_EQ(slow.closed(), 40) << "slow connections left open";
  EXPECT_TRUE(Healthy(server_->http_port(), 3));
  EXPECT_GE(server_->http_reaped(), 40u);
  // A request that takes long to evaluate is not cut off.
  std::string lines;
  for (int i = 0; i < 10000; ++i) lines += Record().AtSecond(i % 600).NewId().Json() + "\n";
  v1::EvaluateRequest request;
  request.set_payload(lines);
  std::string body;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(request, &body).ok());
  EXPECT_EQ(FromHttp(http_->Post("/v1/evaluate", body, "application/json")).code,
            absl::StatusCode::kOk);
}

}  // namespace
}  // namespace trailsentry::testing
