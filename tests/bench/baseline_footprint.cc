// baseline-footprint: memory and disk cost of source-IP baselines.
//
// Feeds N identities x K networks of ordinary calls (structured events, no JSON)
// through the engine into a RocksDB data directory, then reports the process RSS
// with every identity's baseline cached, and the bytes on disk per baseline
// entry after a full compaction.
//
//   baseline-footprint --identities 1000000 --networks 3 --data_dir /tmp/footprint
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "server/engine/engine.h"
#include "server/pipeline/heap_prefault.h"
#include "storage/database.h"

ABSL_FLAG(int, identities, 1000000, "identities");
ABSL_FLAG(int, networks, 3, "networks per identity");
ABSL_FLAG(int, accounts, 200, "accounts the identities belong to");
ABSL_FLAG(std::string, data_dir, "/tmp/trailsentry-footprint", "data directory (emptied first)");
ABSL_FLAG(bool, in_memory, false, "no RocksDB: the engine's own memory alone");

namespace {

long RssKiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  trailsentry::pipeline::PrefaultHeapGrowth();  // as the server does
  absl::ParseCommandLine(argc, argv);
  namespace engine = trailsentry::engine;
  const int identities = absl::GetFlag(FLAGS_identities);
  const int networks = absl::GetFlag(FLAGS_networks);
  const std::string dir = absl::GetFlag(FLAGS_data_dir);
  std::filesystem::remove_all(dir);
  engine::Config config;
  const bool in_memory = absl::GetFlag(FLAGS_in_memory);
  std::unique_ptr<trailsentry::storage::Database> db;
  if (!in_memory)
    db = trailsentry::storage::Database::Open({.path = dir, .config = &config}).value();
  auto eng = engine::Engine::Create(config, db.get()).value();
  const long rss_start = RssKiB();
  const absl::Time start = absl::Now();

  std::vector<engine::AlertChange> changes;
  std::unique_ptr<trailsentry::storage::StateBatch> batch;
  if (db) batch = std::make_unique<trailsentry::storage::StateBatch>(*db);
  const int64_t base = int64_t{1767225600} * 1000;
  std::string arn, account, ip, id;
  int64_t evaluated = 0;
  for (int k = 0; k < networks; ++k) {
    for (int i = 0; i < identities; ++i) {
      account = absl::StrFormat("%012d", 100000000000LL + i % absl::GetFlag(FLAGS_accounts));
      arn = absl::StrCat("arn:aws:sts::", account, ":assumed-role/app-role-", i % 5000, "/i-0",
                         absl::Hex(0x1000000 + i));
      ip = absl::StrFormat("%d.%d.%d.%d", 3 + (i >> 16) % 200, (i >> 8) & 255, i & 255, 1 + k);
      id = absl::StrCat("footprint-", k, "-", i);
      engine::Event ev;
      // Within an hour of each other, so no identity is idle long enough to be evicted.
      ev.time = base + (static_cast<int64_t>(i) % 3000) * 1000 + k;
      ev.event_source = "s3.amazonaws.com";
      ev.event_name = "PutObject";
      ev.event_id = id;
      ev.source_ip = ip;
      ev.user_agent = "Boto3/1.34.45";
      ev.identity_type = "AssumedRole";
      ev.arn = arn;
      ev.account_id = account;
      ev.aws_region = "us-east-1";
      eng->Evaluate("default", ev, changes, batch.get());
      if (++evaluated % 20000 == 0 && db && !db->Commit(*batch).ok()) return 1;
    }
  }
  if (db && !db->Commit(*batch).ok()) return 1;
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  const long rss = RssKiB();
  const engine::EngineStats stats = eng->Stats();
  std::printf("fed %lld events (%d identities x %d networks) in %.1fs (%.0f events/s)\n",
              static_cast<long long>(evaluated), identities, networks, secs, evaluated / secs);
  std::printf("engine: %zu identities cached, %zu baselines loaded, %zu account entries cached\n",
              stats.identities, stats.baselines_loaded, stats.account_entries_cached);
  std::printf("RSS: %.1f MiB (%.1f MiB at start): %.0f bytes per identity\n", rss / 1024.0,
              rss_start / 1024.0, (rss - rss_start) * 1024.0 / identities);
  if (!db) return 0;
  if (!db->CompactAll().ok()) return 1;
  for (const auto& [cf, bytes] : db->DiskUsage()) {
    if (bytes == 0) continue;
    const uint64_t keys = db->CountKeys(cf);
    std::printf("disk: %-18s %10.1f MiB  %9llu keys  %6.1f bytes/key\n", cf.c_str(),
                bytes / 1048576.0, static_cast<unsigned long long>(keys),
                keys ? static_cast<double>(bytes) / static_cast<double>(keys) : 0.0);
  }
  return 0;
}
