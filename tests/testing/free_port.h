// FreePort: a loopback port nothing listens on (bound, closed: never listened
// on, so nothing is left accepting on it), below the kernel's ephemeral port
// range, so no connection or `:0` listener of another test takes it before it
// is bound again: for servers whose address must be known before they start (a
// shard ring names them).
//
//   const std::string addr = absl::StrCat("127.0.0.1:", FreePort());
#ifndef TRAILSENTRY_TESTS_TESTING_FREE_PORT_H_
#define TRAILSENTRY_TESTS_TESTING_FREE_PORT_H_

namespace trailsentry::testing {

int FreePort();

}  // namespace trailsentry::testing

#endif  // TRAILSENTRY_TESTS_TESTING_FREE_PORT_H_
