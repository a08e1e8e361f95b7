// TempDir: a unique directory for one test, removed with everything in it when
// the object goes out of scope. Parallel-safe (mkdtemp).
//
//   TempDir dir;
//   std::string path = dir.path() + "/file.json";
#ifndef TRAILSENTRY_TESTS_TESTING_TEMP_DIR_H_
#define TRAILSENTRY_TESTS_TESTING_TEMP_DIR_H_

#include <string>

namespace trailsentry::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  // Writes `contents` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& contents) const;

 private:
  std::string path_;
};

}  // namespace trailsentry::testing

#endif  // TRAILSENTRY_TESTS_TESTING_TEMP_DIR_H_
