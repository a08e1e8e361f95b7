// internal::RocksDbLog: RocksDB's LOG, written so that a file that cannot be
// written (a full disk) costs lines, never the process.
#include "storage/internal/rocksdb_log.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/storage/database_fixture.h"

namespace trailsentry::testing {
namespace {

namespace fs = std::filesystem;
using storage::internal::RocksDbLog;

std::string Read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> OldLogs(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (absl::StartsWith(e.path().filename().string(), "LOG.old.")) out.push_back(e.path());
  }
  return out;
}

// "2026/12/05-09:13:12.935082 ", RocksDB's line prefix.
bool StartsWithStamp(std::string_view line) {
  return line.size() > 27 && line[4] == '/' && line[7] == '/' && line[10] == '-' &&
         line[13] == ':' && line[19] == '.' && line[26] == ' ' && absl::ascii_isdigit(line[0]);
}

// While alive, files of this process cannot grow past `bytes` (writes past it
// fail with EFBIG, as they fail with ENOSPC on a full disk).
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills the process
    struct rlimit limit = saved_;
    limit.rlim_cur = bytes;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  struct rlimit saved_ = {};
  void (*old_handler_)(int) = nullptr;
};

TEST(RocksDbLogTest, WritesRocksDbsLinesAtItsLevel) {
  TempDir dir;
  auto log = RocksDbLog::Open(dir.path()).value();
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "flushed %d files", 3);
  rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, log, "stalling writes");
  rocksdb::Log(rocksdb::InfoLogLevel::DEBUG_LEVEL, log, "below the level: not written");
  rocksdb::Header(log, "options: %s", "header lines are written");
  const std::string text = Read(fs::path(dir.path()) / "LOG");
  EXPECT_TRUE(absl::StrContains(text, " flushed 3 files\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, " [WARN] stalling writes\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, "options: header lines are written\n")) << text;
  EXPECT_FALSE(absl::StrContains(text, "below the level")) << text;
  EXPECT_EQ(log->GetLogFileSize(), text.size());
  EXPECT_EQ(log->dropped(), 0u);
}

TEST(RocksDbLogTest, LongLinesAreWrittenWhole) {
  TempDir dir;
  auto log = RocksDbLog::Open(dir.path()).value();
  const std::string stats(5000, 's');
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "stats: %s end", stats.c_str());
  EXPECT_TRUE(absl::StrContains(Read(fs::path(dir.path()) / "LOG"),
                                absl::StrCat(" stats: ", stats, " end\n")));
}

TEST(RocksDbLogTest, AnInMemoryDatabasesLinesAreDropped) {
  auto log = RocksDbLog::Open("").value();
  rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, log, "Error when reading %s dir", "/mem");
  EXPECT_EQ(log->GetLogFileSize(), 0u);
  EXPECT_EQ(log->dropped(), 0u);
}

TEST(RocksDbLogTest, AFileThatCannotBeWrittenDropsLines) {
  auto log = RocksDbLog::OpenFile("/dev/full").value();  // every write: ENOSPC
  for (int i = 0; i < 100; ++i) {
    rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "line %d", i);
  }
  EXPECT_EQ(log->dropped(), 100u);
}

TEST(RocksDbLogTest, SaysHowManyLinesWereDroppedOnceItCanWriteAgain) {
  TempDir dir;
  const fs::path path = fs::path(dir.path()) / "LOG";
  auto log = RocksDbLog::Open(dir.path()).value();
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "before");
  {
    FileSizeLimit full(fs::file_size(path) + 10);  // the next line fits only in part
    for (int i = 0; i < 5; ++i) rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "lost %d", i);
  }
  EXPECT_EQ(log->dropped(), 5u);
  rocksdb::Log(rocksdb::InfoLogLevel::INFO_LEVEL, log, "after");
  const std::string text = Read(path);
  // The cut line is ended, and the loss said on a line of its own.
  const size_t note = text.find("[WARN] 5 lines of this log were not written (File too large)\n");
  ASSERT_NE(note, std::string::npos) << text;
  const size_t line = text.rfind('\n', note) + 1;
  EXPECT_TRUE(StartsWithStamp(text.substr(line))) << text.substr(line);
  EXPECT_TRUE(absl::EndsWith(text, " after\n")) << text;
  EXPECT_FALSE(absl::StrContains(text, "lost 1")) << text;
  EXPECT_EQ(log->GetLogFileSize(), text.size());
}

TEST_F(DatabaseTest, KeepsGoingWhenRocksDbsLogCannotBeWritten) {
  // RocksDB 7.8's own logger aborted the process (an assert kept in Debian's
  // build) at the first line after an append failed, on a disk full only once.
  const fs::path data = fs::path(dir_.path()) / "data";
  auto write = [&](int round) {
    storage::StateBatch batch(*db_);
    for (int i = 0; i < 50; ++i) {
      batch.PutAlert(MakeAlert(absl::StrCat("a-", round, "-", i), absl::StrCat("user-", i),
                               1'700'000'000'000 + round * 1000 + i));
    }
    ASSERT_TRUE(db_->Commit(batch).ok());
  };
  write(0);
  {
    // The LOG cannot grow; the small WAL and SST files can.
    FileSizeLimit full(fs::file_size(data / "LOG"));
    for (int round = 1; round <= 3; ++round) {
      write(round);
      ASSERT_TRUE(db_->CompactAll().ok());  // RocksDB logs its flushes and compactions
    }
  }
  write(4);
  ASSERT_TRUE(db_->CompactAll().ok());
  EXPECT_TRUE(absl::StrContains(Read(data / "LOG"), "lines of this log were not written"));
  EXPECT_EQ(db_->ListAlerts(Query("default", 1000)).value().alerts.size(), 250u);

  // A reopen keeps the last run's LOG as LOG.old.<micros>, as RocksDB does.
  const std::string before = Read(data / "LOG");
  Open();
  const std::vector<fs::path> old = OldLogs(data);
  ASSERT_EQ(old.size(), 1u);
  EXPECT_TRUE(absl::StartsWith(Read(old[0]), before));  // and the lines of its shutdown
  EXPECT_TRUE(absl::StrContains(Read(data / "LOG"), "RocksDB version"));
}

}  // namespace
}  // namespace trailsentry::testing
