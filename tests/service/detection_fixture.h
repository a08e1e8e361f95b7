// DetectionServiceTest: a trailsentryd in-process on a real port with a data
// directory of its own, reached through the real client.
#ifndef TRAILSENTRY_TESTS_SERVICE_DETECTION_FIXTURE_H_
#define TRAILSENTRY_TESTS_SERVICE_DETECTION_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "client/client.h"
#include "server/service/server.h"
#include "tests/testing/cloudtrail_builder.h"
#include "tests/testing/temp_dir.h"
#include "trailsentry/v1/detection.grpc.pb.h"

namespace trailsentry::testing {

inline const std::vector<std::string> kActions = {
    "DescribeInstances",      "ListUsers", "ListRoles", "GetCallerIdentity", "ListBuckets",
    "DescribeSecurityGroups", "ListKeys"};

class DetectionServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(engine::Config{}); }

  // Stops the server and starts it again on the same data directory.
  void Restart() {
    client_.reset();
    server_.reset();
    server_ = service::Server::Start(config_).value();
    client_ = Client::Connect({.target = "127.0.0.1:" + std::to_string(server_->port())}).value();
  }

  void Start(engine::Config config) {
    client_.reset();
    server_.reset();
    config.server.listen = "127.0.0.1:0";
    data_dir_ = std::make_unique<TempDir>();
    config.server.data_dir = data_dir_->path() + "/data";
    config.server.max_events_per_request = max_events_;
    config_ = config;
    server_ = service::Server::Start(config).value();
    client_ = Client::Connect({.target = "127.0.0.1:" + std::to_string(server_->port())}).value();
  }

  // A stub of the generated API itself, for what the client library hides.
  std::unique_ptr<v1::Detection::Stub> RawStub() const {
    return v1::Detection::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(server_->port()), grpc::InsecureChannelCredentials()));
  }

  static v1::EvaluateRequest Request(const std::vector<std::string>& records) {
    v1::EvaluateRequest r;
    for (const std::string& json : records) r.add_events()->set_raw_json(json);
    return r;
  }

  static std::vector<std::string> Burst(int n, int64_t start) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i)
      out.push_back(Record().AtSecond(start + i).Action(kActions[i]).Json());
    return out;
  }

  int max_events_ = 10000;
  engine::Config config_;
  std::unique_ptr<TempDir> data_dir_;
  std::unique_ptr<service::Server> server_;
  std::unique_ptr<Client> client_;
};

}  // namespace trailsentry::testing

#endif  // TRAILSENTRY_TESTS_SERVICE_DETECTION_FIXTURE_H_
