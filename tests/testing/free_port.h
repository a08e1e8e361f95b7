// FreePort: a loopback port nothing listens on (bound, read, closed: never
// listened on, so nothing is left accepting on it), for servers whose address
// must be known before they start (a shard ring names them).
//
//   const std::string addr = absl::StrCat("127.0.0.1:", FreePort());
#ifndef TRAILSENTRY_TESTS_TESTING_FREE_PORT_H_
#define TRAILSENTRY_TESTS_TESTING_FREE_PORT_H_

namespace trailsentry::testing {

int FreePort();

}  // namespace trailsentry::testing

#endif  // TRAILSENTRY_TESTS_TESTING_FREE_PORT_H_
