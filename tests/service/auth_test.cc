// Authentication and tenants: bearer tokens, tenant isolation, token reload,
// the loopback rule, TLS and mTLS — through the real client on a real port.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <fstream>

#include "client/client.h"
#include "server/service/authenticator.h"
#include "server/service/server.h"
#include "tests/testing/certificates.h"
#include "tests/testing/cloudtrail_builder.h"
#include "tests/testing/temp_dir.h"
#include "trailsentry/v1/detection.grpc.pb.h"

namespace trailsentry::testing {
namespace {

constexpr char kTokenA[] = "token-for-tenant-a-0123456789";
constexpr char kTokenB[] = "token-for-tenant-b-0123456789";

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tokens_ = dir_.Write("tokens", std::string("# test tokens\n") + kTokenA + " tenant-a\n" +
                                       kTokenB + "   tenant-b\n");
  }

  absl::StatusOr<std::unique_ptr<service::Server>> Start(service::Server::Options options,
                                                         std::string listen = "127.0.0.1:0") {
    engine::Config config;
    config.server.listen = listen;
    config.server.data_dir = dir_.path() + "/data" + std::to_string(++starts_);
    return service::Server::Start(config, options);
  }

  std::unique_ptr<Client> ClientFor(const service::Server& server, std::string token,
                                    Client::Options options = {}) {
    options.target = "127.0.0.1:" + std::to_string(server.port());
    options.token = std::move(token);
    return Client::Connect(options).value();
  }

  static v1::EvaluateRequest Burst(const std::string& user) {
    v1::EvaluateRequest r;
    const char* actions[] = {"DescribeInstances", "ListUsers",   "ListRoles",
                             "GetCallerIdentity", "ListBuckets", "DescribeVpcs"};
    for (int i = 0; i < 6; ++i) {
      r.add_events()->set_raw_json(Record().User(user).AtSecond(i).Action(actions[i]).Json());
    }
    return r;
  }

  TempDir dir_;
  std::string tokens_;
  int starts_ = 0;
};

TEST_F(AuthTest, TokensAreRequiredAndMapToTenants) {
  auto server = Start({.token_file = tokens_}).value();
  for (const std::string& token :
       {std::string(), std::string("not-a-known-token-0000000"), std::string(kTokenA) + "x"}) {
    auto r = ClientFor(*server, token)->Evaluate(Burst("alice"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnauthenticated) << token;
    EXPECT_EQ(ClientFor(*server, token)->GetIdentity("x").status().code(),
              absl::StatusCode::kUnauthenticated);
  }
  auto a = ClientFor(*server, kTokenA)->Evaluate(Burst("alice"));
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_EQ(a->alerts_size(), 1);
  EXPECT_EQ(a->alerts(0).alert().tenant(), "tenant-a");
}

// The scheme is case-insensitive (RFC 9110): "bearer", "BEARER" and "Bearer" all
// work; anything else is refused.
TEST_F(AuthTest, BearerSchemeIsCaseInsensitive) {
  auto auth = service::Authenticator::Create(tokens_).value();
  for (const std::string scheme : {"Bearer ", "bearer ", "BEARER ", "bEaReR  "}) {
    auto tenant = auth->TenantFor(scheme + kTokenA);
    ASSERT_TRUE(tenant.ok()) << scheme << ": " << tenant.status();
    EXPECT_EQ(*tenant, "tenant-a");
  }
  for (const std::string& bad : {std::string("Basic ") + kTokenA, std::string("Bearer") + kTokenA,
                                 std::string("Bearer "), std::string(kTokenA)}) {
    EXPECT_EQ(auth->TenantFor(bad).status().code(), absl::StatusCode::kUnauthenticated) << bad;
  }
}

TEST_F(AuthTest, TenantsNeverSeeOrInfluenceEachOther) {
  auto server = Start({.token_file = tokens_}).value();
  auto a = ClientFor(*server, kTokenA);
  auto b = ClientFor(*server, kTokenB);
  // Half a burst each: the same identity, but two tenants, so nothing fires.
  v1::EvaluateRequest burst = Burst("alice"), first, second;
  for (int i = 0; i < 6; ++i) *(i < 3 ? first : second).add_events() = burst.events(i);
  ASSERT_EQ(a->Evaluate(first)->alerts_size(), 0);
  ASSERT_EQ(b->Evaluate(second)->alerts_size(), 0);
  // Tenant A's alert, identity and feedback are invisible to B.
  ASSERT_EQ(a->Evaluate(Burst("bob"))->alerts_size(), 1);
  EXPECT_EQ(a->ListAlerts({})->alerts_size(), 1);
  EXPECT_EQ(b->ListAlerts({})->alerts_size(), 0);
  EXPECT_TRUE(a->GetIdentity("arn:aws:iam::111122223333:user/bob").ok());
  EXPECT_EQ(b->GetIdentity("arn:aws:iam::111122223333:user/bob").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(b->ForgetIdentity("arn:aws:iam::111122223333:user/bob").code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(a->GetIdentity("arn:aws:iam::111122223333:user/bob").ok());
}

TEST_F(AuthTest, TokenFileReloads) {
  auto server = Start({.token_file = tokens_}).value();
  const std::string rotated = "rotated-token-for-tenant-a-42";
  std::ofstream(tokens_) << rotated << " tenant-a\n";
  ASSERT_TRUE(server->ReloadTokens().ok());
  EXPECT_EQ(ClientFor(*server, kTokenA)->Evaluate(Burst("a")).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(ClientFor(*server, rotated)->Evaluate(Burst("a")).ok());
  // A broken file keeps the tokens in force and says which line is wrong.
  std::ofstream(tokens_) << "short tenant-a\n";
  absl::Status s = server->ReloadTokens();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("line 1"), std::string::npos) << s;
  EXPECT_TRUE(ClientFor(*server, rotated)->Evaluate(Burst("a")).ok());
}

TEST_F(AuthTest, RevokingATokenEndsItsOpenStream) {
  auto server = Start({.token_file = tokens_}).value();
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::Detection::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("authorization", std::string("Bearer ") + kTokenA);
  auto stream = stub->EvaluateStream(&context);
  v1::EvaluateResponse response;
  ASSERT_TRUE(stream->Write(Burst("a")));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.accepted(), 6);
  // Revoked while the stream is open: its next request is refused, the stream ends.
  std::ofstream(tokens_) << kTokenB << " tenant-b\n";
  ASSERT_TRUE(server->ReloadTokens().ok());
  ASSERT_TRUE(stream->Write(Burst("a2")));
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(status.error_message().find("no longer valid"), std::string::npos);
  // Nothing of the refused request reached tenant-a.
  auto b = ClientFor(*server, kTokenB);
  EXPECT_EQ(b->GetIdentity("arn:aws:iam::111122223333:user/a2").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(AuthTest, ASecondServerCannotShareThePort) {
  auto first = Start({}).value();
  absl::StatusOr<std::unique_ptr<service::Server>> second =
      Start({}, "127.0.0.1:" + std::to_string(first->port()));
  ASSERT_FALSE(second.ok()) << "two servers on one port split the traffic between two states";
  EXPECT_NE(second.status().message().find("cannot listen"), std::string::npos) << second.status();
}

TEST_F(AuthTest, RemoteListenNeedsAuthentication) {
  auto refused = Start({}, "0.0.0.0:0");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("without authentication"), std::string::npos);
  EXPECT_TRUE(Start({.token_file = tokens_}, "0.0.0.0:0").ok());
  EXPECT_TRUE(Start({.allow_insecure_remote = true}, "0.0.0.0:0").ok());
  auto bad_file = Start({.token_file = dir_.path() + "/missing"});
  EXPECT_EQ(bad_file.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(AuthTest, TlsAndMutualTls) {
  const std::string d = dir_.path();
  // A CA, a server certificate for "localhost", and a client certificate.
  ASSERT_TRUE(MakeTestCertificates(d)) << "openssl failed";

  auto tls = Start({.tls_cert = d + "/server.pem", .tls_key = d + "/server.key"}).value();
  Client::Options verified{.tls_ca_file = d + "/ca.pem", .tls_server_name = "localhost"};
  EXPECT_TRUE(ClientFor(*tls, "", verified)->Evaluate(Burst("a")).ok());
  // Plaintext against a TLS port fails cleanly.
  Client::Options plain{.timeout = absl::Seconds(2)};
  EXPECT_FALSE(ClientFor(*tls, "", plain)->Evaluate(Burst("a")).ok());

  auto mtls = Start({.tls_cert = d + "/server.pem",
                     .tls_key = d + "/server.key",
                     .tls_client_ca = d + "/ca.pem",
                     .http_listen = "127.0.0.1:0",
                     .health_listen = "127.0.0.1:0"},
                    "0.0.0.0:0")
                  .value();  // mTLS counts as authentication: remote listen allowed
  // Probes without a certificate reach health (and nothing else) on its own port.
  httplib::Client probe("127.0.0.1", mtls->health_port());
  auto healthz = probe.Get("/healthz");
  ASSERT_TRUE(healthz);
  EXPECT_EQ(healthz->status, 200);
  EXPECT_EQ(probe.Get("/readyz")->status, 200);
  EXPECT_EQ(probe.Get("/v1/alerts")->status, 404);
  EXPECT_EQ(probe.Get("/metrics")->status, 404);
  Client::Options with_cert = verified;
  with_cert.tls_cert_file = d + "/client.pem";
  with_cert.tls_key_file = d + "/client.key";
  EXPECT_TRUE(ClientFor(*mtls, "", with_cert)->Evaluate(Burst("a")).ok());
  Client::Options without_cert = verified;
  without_cert.timeout = absl::Seconds(2);
  EXPECT_FALSE(ClientFor(*mtls, "", without_cert)->Evaluate(Burst("a")).ok());
}

}  // namespace
}  // namespace trailsentry::testing
