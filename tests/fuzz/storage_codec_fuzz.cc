// Fuzz target: what a corrupt disk hands back to the storage decoders — baseline
// entries, alert records, event-log keys, network keys, key components and
// identity records. The first byte picks the decoder; a decoded value must
// encode back to a value that decodes the same (an identity record also merged
// over itself).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "storage/internal/codec.h"
#include "storage/internal/identity_record.h"
#include "storage/keys.h"

using namespace trailsentry::storage;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 6) {
    case 0:
      if (auto e = internal::DecodeEntry(bytes)) {
        auto again = internal::DecodeEntry(internal::EncodeEntry(*e));
        if (!again || !(*again == *e)) std::abort();
      }
      break;
    case 1:
      if (auto a = internal::DecodeAlert(bytes)) {
        if (!internal::DecodeAlert(internal::EncodeAlert(a->alert, a->event_times))) std::abort();
      }
      break;
    case 2:
      (void)keys::ParseEventLogKey(bytes);
      break;
    case 3:
      (void)keys::ParseNetworkBytes(bytes);
      break;
    case 5: {
      internal::IdentityRecord r, again, merged;
      if (!internal::DecodeRecord(bytes, r)) break;
      std::string encoded;
      internal::EncodeRecord(r, encoded);
      if (!internal::DecodeRecord(encoded, again) || again.profile != r.profile ||
          again.seen != r.seen || again.networks.size() != r.networks.size()) {
        std::abort();
      }
      internal::MergeRecords(r, again, merged);
      std::string merged_bytes;
      internal::EncodeRecord(merged, merged_bytes);
      if (merged_bytes != encoded) std::abort();
      break;
    }
    default: {
      size_t pos = 0;
      while (pos < bytes.size() && keys::ReadComponent(bytes, pos)) {
      }
      break;
    }
  }
  return 0;
}
