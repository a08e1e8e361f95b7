// Writes valid storage encodings (one file each, first byte = the decoder
// storage_codec_fuzz picks) into a folder: the codec fuzz target's seeds.
//
//   storage_codec_seeds OUT_DIR
#include <fstream>
#include <string>

#include "storage/internal/codec.h"
#include "storage/internal/identity_record.h"
#include "storage/keys.h"

using namespace trailsentry;

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  auto write = [&](const std::string& name, char selector, const std::string& value) {
    std::ofstream(dir + "/" + name, std::ios::binary) << selector << value;
  };
  write("entry", 0, storage::internal::EncodeEntry({1773532800000, 1773619200000, 42}));
  v1::Alert alert;
  alert.set_alert_id("burst-0123456789abcdef");
  alert.set_rule_id("aws-discovery-cli-burst");
  alert.set_identity("arn:aws:iam::111122223333:user/alice");
  alert.add_event_ids("e1");
  alert.add_event_ids("e2");
  write("alert", 1, storage::internal::EncodeAlert(alert, {1773532800000, 1773532801000}));
  std::string key =
      storage::keys::EventLogPrefix("default", "arn:aws:iam::1:user/a", engine::LogKind::kBurst);
  storage::keys::AppendBigEndian64(key, 1773532800000);
  storage::keys::AppendBigEndian64(key, 0x0123456789abcdefULL);
  write("event_log_key", 2, key);
  write("network", 3, std::string("\x18\xc6\x33\x64\x00", 5));
  std::string components;
  storage::keys::AppendComponent(components, "default");
  storage::keys::AppendComponent(components, "arn:aws:iam::1:user/a");
  write("components", 4, components);
  std::string record;
  const engine::BaselineEntry profile{1773532800000, 1773619200000, 42};
  const storage::internal::SeenEvent seen[] = {{1773532800000, 0x0123456789abcdefULL},
                                               {1773532800500, 0x1ULL}};
  storage::internal::AppendRecordStart(record, &profile, seen);
  storage::internal::AppendRecordNetwork(record, std::string("\x18\xc6\x33\x64\x00", 5),
                                         {1773532800000, 1773532900000, 7});
  write("identity_record", 5, record);
  return 0;
}
