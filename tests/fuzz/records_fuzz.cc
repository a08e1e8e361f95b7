// Fuzz target: arbitrary bytes through every input path an untrusted caller
// reaches — the container reader (gzip included), the record parser, and the
// engine — must never crash, hang or corrupt state.
//
// With clang: build as a libFuzzer target (-fsanitize=fuzzer). With gcc, the
// mutation driver in record_fuzz_driver.cc runs it under ctest.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "server/engine/engine.h"
#include "server/engine/record_parser.h"
#include "server/engine/record_reader.h"

namespace {

trailsentry::engine::Engine& FuzzEngine() {
  static auto* engine = trailsentry::engine::Engine::Create({}).value().release();
  return *engine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trailsentry::engine;
  static RecordReader reader;
  std::vector<AlertChange> changes;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  (void)reader.Read(bytes, [&](size_t, const RecordOrError& r) {
    if (r.error != nullptr) return;
    Event ev;
    if (!ParseRecord(r.record, ev)) {
      FuzzEngine().Evaluate("fuzz", ev, changes);
      changes.clear();
    }
  });
  return 0;
}
