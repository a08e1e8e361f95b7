// LoadConfig: a text-format trailsentry.v1.Config (config.proto) into a Config.
//
// Absent fields keep the spec defaults; a list given in the file replaces the
// default list. Every error names the field:
//
//   absl::StatusOr<Config> c = LoadConfigFile("/etc/trailsentry/config.textproto");
//   // INVALID_ARGUMENT: "burst.window: not a duration: \"ten\""
#ifndef TRAILSENTRY_SERVER_ENGINE_CONFIG_LOADER_H_
#define TRAILSENTRY_SERVER_ENGINE_CONFIG_LOADER_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "server/engine/config.h"

namespace trailsentry::engine {

[[nodiscard]] absl::StatusOr<Config> ParseConfig(std::string_view text_proto);
[[nodiscard]] absl::StatusOr<Config> LoadConfigFile(const std::string& path);

// Checks ranges and cross-field rules; LoadConfig calls it, flag overrides should too.
[[nodiscard]] absl::Status ValidateConfig(const Config& config);

}  // namespace trailsentry::engine

#endif  // TRAILSENTRY_SERVER_ENGINE_CONFIG_LOADER_H_
