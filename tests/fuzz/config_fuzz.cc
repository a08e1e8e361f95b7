// Fuzz target: a config file (protobuf text format) through ParseConfig, which
// validates every field: an error naming the field, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/engine/config_loader.h"
#include "server/engine/engine.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<trailsentry::engine::Config> config = trailsentry::engine::ParseConfig(text);
  // A config that validates must also build an engine.
  if (config.ok()) (void)trailsentry::engine::Engine::Create(*config);
  return 0;
}
