// DatabaseTest: a Database on a real RocksDB in a temp dir, reopened at will,
// and alerts to store in it.
#ifndef TRAILSENTRY_TESTS_STORAGE_DATABASE_FIXTURE_H_
#define TRAILSENTRY_TESTS_STORAGE_DATABASE_FIXTURE_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/engine/alert.h"
#include "server/engine/network.h"
#include "storage/database.h"
#include "tests/testing/temp_dir.h"

namespace trailsentry::testing {

using engine::Network;

inline Network Net(const char* cidr) { return Network::ParseCidr(cidr).value(); }

inline storage::AlertQuery Query(const char* tenant, int page_size = 100) {
  storage::AlertQuery q;
  q.tenant = tenant;
  q.page_size = page_size;
  return q;
}

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    db_.reset();
    db_ = storage::Database::Open({.path = dir_.path() + "/data", .config = &config_}).value();
  }
  engine::Alert MakeAlert(const std::string& id, const std::string& identity, int64_t opened_at,
                          engine::Rule rule = engine::Rule::kBurst) {
    engine::Alert a;
    a.rule = rule;
    a.alert_id = id;
    a.tenant = "default";
    a.identity = identity;
    a.opened_at = a.window_start = a.first_event_time = opened_at;
    a.window_end = a.last_event_time = opened_at + 5000;
    a.actions = {"ListUsers", "ListRoles"};
    a.event_count = 2;
    return a;
  }

  engine::Config config_;
  TempDir dir_;
  std::unique_ptr<storage::Database> db_;
};

}  // namespace trailsentry::testing

#endif  // TRAILSENTRY_TESTS_STORAGE_DATABASE_FIXTURE_H_
