#include "server/engine/tenant.h"

#include "absl/strings/ascii.h"

namespace trailsentry::engine {

bool IsValidTenant(std::string_view t) {
  if (t.empty() || t.size() > 64) return false;
  for (char c : t) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace trailsentry::engine
