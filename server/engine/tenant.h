// Tenant names: every key is scoped by one (spec §1). 1-64 characters of
// [A-Za-z0-9._-], so a name is safe in keys, paths and logs.
//
//   if (!engine::IsValidTenant(name)) return absl::InvalidArgumentError(...);
#ifndef TRAILSENTRY_SERVER_ENGINE_TENANT_H_
#define TRAILSENTRY_SERVER_ENGINE_TENANT_H_

#include <string_view>

namespace trailsentry::engine {

inline constexpr char kDefaultTenant[] = "default";

bool IsValidTenant(std::string_view tenant);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_TENANT_H_
