// Test certificates made with the openssl CLI in `dir`: a CA (ca.pem, ca.key),
// a server certificate for "localhost" it signed (server.pem, server.key), and a
// client certificate (client.pem, client.key). False if openssl failed.
#ifndef TRAILSENTRY_TESTS_TESTING_CERTIFICATES_H_
#define TRAILSENTRY_TESTS_TESTING_CERTIFICATES_H_

#include <string>

namespace trailsentry::testing {

bool MakeTestCertificates(const std::string& dir);

}  // namespace trailsentry::testing

#endif  // TRAILSENTRY_TESTS_TESTING_CERTIFICATES_H_
