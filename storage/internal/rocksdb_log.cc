#include "storage/internal/rocksdb_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string_view>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace trailsentry::storage::internal {
namespace {

namespace fs = std::filesystem;

// Whether another process holds the database's LOCK (a running server): then
// its LOG is in use and must not be moved away. RocksDB's own Open then fails
// on the lock.
bool LockedByAnotherProcess(const fs::path& dir) {
  const int fd = ::open((dir / "LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock probe = {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  const bool locked = ::fcntl(fd, F_GETLK, &probe) == 0 && probe.l_type != F_UNLCK;
  ::close(fd);
  return locked;
}

// "2026/12/05-09:13:12.935082 1234 ", RocksDB's own line prefix (local time,
// thread id).
size_t FormatPrefix(char* out, size_t size) {
  struct timeval now = {};
  ::gettimeofday(&now, nullptr);
  struct tm t = {};
  ::localtime_r(&now.tv_sec, &t);
  const int n =
      std::snprintf(out, size, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %ld ", t.tm_year + 1900,
                    t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
                    static_cast<long>(now.tv_usec), static_cast<long>(::gettid()));
  return n < 0 ? 0 : std::min(static_cast<size_t>(n), size - 1);
}

std::string_view LevelTag(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL:
      return "[DEBUG] ";
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return "[WARN] ";
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
      return "[ERROR] ";
    case rocksdb::InfoLogLevel::FATAL_LEVEL:
      return "[FATAL] ";
    default:
      return "";  // INFO and HEADER lines carry no tag, as in RocksDB's LOG
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<RocksDbLog>> RocksDbLog::Open(const std::string& dir) {
  if (dir.empty()) return std::shared_ptr<RocksDbLog>(new RocksDbLog(-1, "", 0));
  const fs::path log = fs::path(dir) / "LOG";
  std::error_code ec;
  if (fs::exists(log, ec) && !LockedByAnotherProcess(dir)) {
    struct timeval now = {};
    ::gettimeofday(&now, nullptr);
    const int64_t micros = int64_t{now.tv_sec} * 1000000 + now.tv_usec;
    fs::rename(log, fs::path(dir) / absl::StrCat("LOG.old.", micros), ec);
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("moving RocksDB's log ", log.string(), " aside: ", ec.message()));
    }
  }
  return OpenFile(log.string());
}

absl::StatusOr<std::shared_ptr<RocksDbLog>> RocksDbLog::OpenFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("opening RocksDB's log ", path, ": ", std::strerror(errno)));
  }
  struct stat st = {};
  const uint64_t size = ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  return std::shared_ptr<RocksDbLog>(new RocksDbLog(fd, path, size));
}

RocksDbLog::RocksDbLog(int fd, std::string path, uint64_t size)
    : path_(std::move(path)), fd_(fd), size_(size) {}

RocksDbLog::~RocksDbLog() { CloseImpl().PermitUncheckedError(); }

rocksdb::Status RocksDbLog::CloseImpl() {
  engine::MutexLock lock(&mu_);
  if (fd_ >= 0 && ::close(fd_) != 0) {
    fd_ = -1;
    return rocksdb::Status::IOError("closing " + path_, std::strerror(errno));
  }
  fd_ = -1;
  return rocksdb::Status::OK();
}

void RocksDbLog::Logv(const char* format, va_list ap) {
  Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
}

void RocksDbLog::Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) {
  if (level < GetInfoLogLevel() || path_.empty()) return;
  // Most lines fit the stack buffer; compaction statistics take a second pass.
  char stack[1024];
  std::string heap;
  char* line = stack;
  size_t prefix = FormatPrefix(stack, sizeof(stack));
  prefix += LevelTag(level).copy(stack + prefix, sizeof(stack) - prefix);
  va_list copy;
  va_copy(copy, ap);
  const int n = std::vsnprintf(stack + prefix, sizeof(stack) - prefix, format, copy);
  va_end(copy);
  if (n < 0) return;
  size_t size = prefix + static_cast<size_t>(n);
  if (size + 1 >= sizeof(stack)) {
    heap.assign(stack, prefix);
    heap.resize(size + 1);
    va_copy(copy, ap);
    std::vsnprintf(heap.data() + prefix, static_cast<size_t>(n) + 1, format, copy);
    va_end(copy);
    line = heap.data();
  }
  if (size == 0 || line[size - 1] != '\n') line[size++] = '\n';

  if (level >= rocksdb::InfoLogLevel::WARN_LEVEL && level != rocksdb::InfoLogLevel::HEADER_LEVEL) {
    const std::string_view message(line + prefix, size - prefix - 1);
    if (level == rocksdb::InfoLogLevel::WARN_LEVEL) {
      spdlog::warn("rocksdb: {}", message);
    } else {
      spdlog::error("rocksdb: {}", message);
    }
  }
  WriteLine(line, size);
}

void RocksDbLog::WriteLine(const char* line, size_t size) {
  engine::MutexLock lock(&mu_);
  if (fd_ < 0) return;
  if ((dropped_unsaid_ == 0 || WriteDropNote()) && WriteAll(line, size)) return;
  if (dropped_unsaid_ == 0) {
    spdlog::warn(
        "storage: RocksDB's log {} cannot be written ({}); its lines are dropped until "
        "it can",
        path_, std::strerror(last_errno_));
  }
  ++dropped_;
  ++dropped_unsaid_;
}

bool RocksDbLog::WriteDropNote() {
  char note[256];
  size_t n = 0;
  if (cut_) note[n++] = '\n';  // ends the line cut short
  n += FormatPrefix(note + n, sizeof(note) - n);
  const int m = std::snprintf(
      note + n, sizeof(note) - n, "[WARN] %llu lines of this log were not written (%s)\n",
      static_cast<unsigned long long>(dropped_unsaid_), std::strerror(last_errno_));
  if (m > 0) n += std::min(static_cast<size_t>(m), sizeof(note) - n - 1);
  if (!WriteAll(note, n)) return false;
  spdlog::info("storage: RocksDB's log {} is written again ({} lines were dropped)", path_,
               dropped_unsaid_);
  dropped_unsaid_ = 0;
  cut_ = false;
  return true;
}

bool RocksDbLog::WriteAll(const char* data, size_t size) {
  const size_t whole = size;
  while (size > 0) {
    const ssize_t n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      last_errno_ = n < 0 ? errno : ENOSPC;
      cut_ = cut_ || size < whole;
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
    size_ += static_cast<uint64_t>(n);
  }
  return true;
}

size_t RocksDbLog::GetLogFileSize() const {
  engine::MutexLock lock(&mu_);
  return static_cast<size_t>(size_);
}

uint64_t RocksDbLog::dropped() const {
  engine::MutexLock lock(&mu_);
  return dropped_;
}

}  // namespace trailsentry::storage::internal
