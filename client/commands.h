// The `trailsentry` CLI commands. Each returns the process exit code:
// 0 ok, 1 input errors were found (the rest was still processed), 2 usage,
// 3 the run failed part-way (storage): its output is incomplete.
//
//   int rc = RunScan(options, {"archive/"});
#ifndef TRAILSENTRY_CLIENT_COMMANDS_H_
#define TRAILSENTRY_CLIENT_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "client/client.h"
#include "server/engine/config.h"

namespace trailsentry::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitInputErrors = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitFailed = 3;

struct ScanOptions {
  engine::Config config;
  std::string data_dir;            // empty: state in memory only
  int threads = 0;                 // 0: every core
  std::string tenant = "default";  // whose state the scan reads and writes
  bool ocsf = false;               // alerts as OCSF Detection Findings
};
// Runs the engine in-process over the files (backfill, hunting, baseline
// bootstrap), on `threads` threads with the same alerts as one.
int RunScan(const ScanOptions& options, const std::vector<std::string>& paths);

struct SubmitOptions {
  Client::Options connection;
  int batch = 1000;     // records per request
  int concurrency = 2;  // EvaluateStream calls at once
  int window = 4;       // requests in flight per stream
  bool ocsf = false;    // alerts as OCSF Detection Findings
  // One stream per account with the x-trailsentry-shard header (replicas behind
  // a routing proxy; a failed replica fails only its accounts).
  bool shard = true;
};
// Streams the files' records to a server in batches, several in flight, with
// memory bounded whatever the input's size.
int RunSubmit(const SubmitOptions& options, const std::vector<std::string>& paths);

// Lookups and triage feedback against a server.
int RunIdentity(const Client::Options& connection, const std::string& identity);
struct AlertsOptions {
  std::string since, until, rule, identity;
  std::string status, updated_since;
  int limit = 100;
  bool ocsf = false;
  // Account-sharded replicas: every replica's alerts, merged newest first
  // (connection options but the address as for --server).
  std::vector<std::string> replicas;
  int page_size = 1000;
};
int RunAlerts(const Client::Options& connection, const AlertsOptions& options);
int RunAlert(const Client::Options& connection, const std::string& alert_id, bool ocsf);
struct TriageOptions {
  std::string alert_id, status, disposition;
  std::optional<std::string> assignee;  // unset: unchanged
  std::string note, author;
  std::string trust_network;  // "identity" or "account" (with FALSE_POSITIVE or BENIGN)
};
int RunTriage(const Client::Options& connection, const TriageOptions& options);
struct WatchOptions {
  int64_t after = 0;  // changes after this sequence
  bool from_now = false;
  int limit = 0;  // stop after this many changes (0: until interrupted)
  bool ocsf = false;
};
// Prints each alert change as a JSON line as the server commits it.
int RunWatch(const Client::Options& connection, const WatchOptions& options);
struct TrustOptions {
  std::string identity, account, cidr;
  std::string expires;  // RFC 3339 event time; empty: until removed
  bool force = false;
  bool hostile = false;  // the tenant's hostile networks instead of an identity or account
};
// trust: adds (or renews) a trusted network; trusted: lists them (cidr unused);
// untrust: removes one.
int RunTrust(const Client::Options& connection, const TrustOptions& options);
int RunTrusted(const Client::Options& connection, const TrustOptions& options);
int RunUntrust(const Client::Options& connection, const TrustOptions& options);
int RunForget(const Client::Options& connection, const std::string& identity);

// Administration. Backup asks a live server for a backup under its --backup_dir;
// repair and restore work on a data directory no process has open.
int RunBackup(const Client::Options& connection, const std::string& name);
int RunRepair(const engine::Config& config, const std::string& data_dir);
int RunRestore(const engine::Config& config, const std::string& backup,
               const std::string& data_dir);
// Moving accounts between replicas' data directories (their servers stopped):
// export writes one file per (tenant, account) into `out_dir`, for the named
// accounts (of every tenant) or for every account the new ring (`replicas`) gives to another
// replica than `shard_self`; `remove` then deletes each from `data_dir` once its
// file is written. Import writes files into a directory holding none of their
// accounts' state.
struct ExportOptions {
  std::string data_dir, out_dir, shard_self;
  std::vector<std::string> accounts, replicas;
  bool remove = false;
};
int RunExport(const engine::Config& config, const ExportOptions& options);
int RunImport(const engine::Config& config, const std::string& data_dir,
              const std::vector<std::string>& files);
// Prints "ACCOUNT<TAB>REPLICA" for each account: the replica nginx's consistent
// hash over `replicas` sends it to (engine::ShardRing).
int RunOwner(const std::vector<std::string>& replicas, const std::vector<std::string>& accounts);

}  // namespace trailsentry::cli

#endif  // TRAILSENTRY_CLIENT_COMMANDS_H_
