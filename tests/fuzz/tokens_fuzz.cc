// Fuzz target: a token file through Authenticator::ParseTokens, then a lookup
// with the same bytes as an authorization header.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/service/authenticator.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)trailsentry::service::Authenticator::ParseTokens(text, "fuzz");
  static const auto* auth = trailsentry::service::Authenticator::Create("").value().release();
  (void)auth->TenantFor(text);
  return 0;
}
