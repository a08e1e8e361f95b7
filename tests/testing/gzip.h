// Gzip: bytes as one gzip member, for tests of compressed input.
//
//   std::string gz = Gzip(json_lines);
#ifndef TRAILSENTRY_TESTS_TESTING_GZIP_H_
#define TRAILSENTRY_TESTS_TESTING_GZIP_H_

#include <string>

namespace trailsentry::testing {

std::string Gzip(const std::string& data);

}  // namespace trailsentry::testing

#endif  // TRAILSENTRY_TESTS_TESTING_GZIP_H_
