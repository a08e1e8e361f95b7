// RocksDbLog: RocksDB's own log (the LOG file in the data directory), written
// by trailsentry instead of RocksDB's file logger. RocksDB 7.8's logger asserts
// on the first line it writes after an append that failed, and Debian's build
// keeps its asserts, so a disk that filled up once aborted the server at its
// next log line, even after space came back. This logger drops the lines it
// cannot write and says how many once it can write again. RocksDB's warnings
// and errors also go to the server's own log, where operators look.
//
//   db_options.info_log = *RocksDbLog::Open(data_dir);  // "" for in-memory
#ifndef TRAILSENTRY_STORAGE_INTERNAL_ROCKSDB_LOG_H_
#define TRAILSENTRY_STORAGE_INTERNAL_ROCKSDB_LOG_H_

#include <rocksdb/env.h>

#include <cstdarg>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "server/engine/mutex.h"

namespace trailsentry::storage::internal {

class RocksDbLog final : public rocksdb::Logger {
 public:
  // Appends to <dir>/LOG, after moving the LOG of the last run to
  // LOG.old.<microseconds> as RocksDB does (RocksDB deletes all but the newest
  // keep_log_file_num of those). With dir empty (an in-memory database) its
  // lines are dropped, as RocksDB's in-memory LOG was never read (and its
  // in-memory file system makes it log errors that are none).
  static absl::StatusOr<std::shared_ptr<RocksDbLog>> Open(const std::string& dir);
  // Appends to the file at path as it is (no rotation).
  static absl::StatusOr<std::shared_ptr<RocksDbLog>> OpenFile(const std::string& path);

  ~RocksDbLog() override;

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override;
  void Logv(rocksdb::InfoLogLevel level, const char* format, va_list ap) override;
  size_t GetLogFileSize() const override;

  // Lines that could not be written to the file since it was opened.
  uint64_t dropped() const;

 private:
  explicit RocksDbLog(int fd, std::string path, uint64_t size);
  rocksdb::Status CloseImpl() override;
  // Writes all of data; false (errno set) if the file took less.
  bool WriteAll(const char* data, size_t size) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteLine(const char* line, size_t size);
  // Notes in the file how many lines were dropped; false if it cannot yet.
  bool WriteDropNote() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string path_;
  mutable engine::Mutex mu_;
  int fd_ ABSL_GUARDED_BY(mu_);
  uint64_t size_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;         // since opened
  uint64_t dropped_unsaid_ ABSL_GUARDED_BY(mu_) = 0;  // not yet noted in the file
  int last_errno_ ABSL_GUARDED_BY(mu_) = 0;           // why the last write failed
  bool cut_ ABSL_GUARDED_BY(mu_) = false;             // it wrote part of a line
};

}  // namespace trailsentry::storage::internal

#endif  // TRAILSENTRY_STORAGE_INTERNAL_ROCKSDB_LOG_H_
