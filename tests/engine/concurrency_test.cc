// The engine and its storage under concurrent batches (the server's case): many
// threads, each committing batches of its own identities, evictions running
// beside them, give the alerts one thread gives. Run under ThreadSanitizer by
// deploy/dev.sh test-tsan (RocksDB in memory), and in every build.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/engine/engine.h"
#include "server/engine/record_parser.h"
#include "storage/database.h"
#include "storage/transaction.h"
#include "tests/testing/cloudtrail_builder.h"

namespace trailsentry::testing {
namespace {

constexpr int kThreads = 4;
constexpr int kIdentitiesPerThread = 10;
const char* const kActions[] = {"DescribeInstances", "ListUsers",      "ListRoles",
                                "GetCallerIdentity", "ListBuckets",    "DescribeVpcs",
                                "ListKeys",          "DescribeSubnets"};

// Records of one identity: bursts of discovery calls through the CLI, some from
// a new network, an hour apart.
std::vector<std::string> IdentityRecords(int thread, int identity) {
  std::vector<std::string> out;
  const std::string user = absl::StrCat("user-", thread, "-", identity);
  for (int episode = 0; episode < 4; ++episode) {
    for (int i = 0; i < 7; ++i) {
      out.push_back(Record()
                        .User(user)
                        .AtSecond(episode * 3600 + i + identity)
                        .Action(kActions[(i + episode) % 8])
                        .NewId()
                        .Json());
    }
  }
  return out;
}

// Feeds each thread's records in batches of `batch` from `threads` threads (1: in
// order), with `evict` evicting committed identities all along; the alerts stored.
std::map<std::string, int> FeedAndListAlerts(int threads, bool evict) {
  engine::Config config;
  auto db = storage::Database::Open({.path = "", .config = &config}).value();
  auto engine = engine::Engine::Create(config, db.get()).value();
  std::atomic<bool> done{false};
  std::thread evictor([&] {
    while (evict && !done) {
      engine->EvictCommitted();
      std::this_thread::yield();
    }
  });
  auto feed = [&](int t) {
    simdjson::dom::parser parser;
    std::vector<std::string> records;
    for (int i = 0; i < kIdentitiesPerThread; ++i) {
      for (std::string& r : IdentityRecords(t, i)) records.push_back(std::move(r));
    }
    for (size_t start = 0; start < records.size(); start += 9) {
      storage::Transaction tx(*engine, db.get());
      std::vector<engine::AlertChange> changes;
      for (size_t i = start; i < std::min(records.size(), start + 9); ++i) {
        simdjson::padded_string padded(records[i]);
        engine::Event ev;
        ASSERT_FALSE(engine::ParseRecord(parser.parse(padded).value(), ev));
        ASSERT_TRUE(engine->Evaluate("default", ev, changes, tx.writer()).storage.ok());
      }
      ASSERT_TRUE(tx.Commit().ok());
    }
  };
  if (threads == 1) {
    for (int t = 0; t < kThreads; ++t) feed(t);
  } else {
    std::vector<std::thread> workers;
    for (int t = 0; t < kThreads; ++t) workers.emplace_back(feed, t);
    for (std::thread& w : workers) w.join();
  }
  done = true;
  evictor.join();
  std::map<std::string, int> alerts;
  storage::AlertQuery query{.tenant = "default", .page_size = 1000};
  absl::StatusOr<storage::AlertPage> page = db->ListAlerts(query);
  EXPECT_TRUE(page.ok()) << page.status();
  for (const v1::Alert& a : page->alerts) alerts[a.alert_id()] = a.event_count();
  return alerts;
}

TEST(EngineConcurrency, ConcurrentBatchesAndEvictionsGiveTheAlertsOfOneThread) {
  const std::map<std::string, int> one = FeedAndListAlerts(1, false);
  ASSERT_EQ(one.size(), size_t{kThreads * kIdentitiesPerThread * 4}) << "one alert an episode";
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(FeedAndListAlerts(kThreads, round > 0), one) << "round " << round;
  }
}

}  // namespace
}  // namespace trailsentry::testing
