// ExpandInputs: the CLI's PATH arguments into the ordered list of files to read.
//
// Folders are recursed, taking the files named *.json, *.jsonl or *.ndjson (each
// optionally .gz); a file named on the command line is always read. CloudTrail S3 delivery files
// (<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json[.gz]) come first, in
// the order of the time in their names across folders and regions, so an archive
// laid out region by region is still read in time order; other files follow in
// path order.
//
//   absl::StatusOr<std::vector<std::string>> files = ExpandInputs({"archive/"});
#ifndef TRAILSENTRY_CLIENT_INPUT_FILES_H_
#define TRAILSENTRY_CLIENT_INPUT_FILES_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace trailsentry::cli {

[[nodiscard]] absl::StatusOr<std::vector<std::string>> ExpandInputs(
    const std::vector<std::string>& paths);

bool LooksLikeCloudTrail(std::string_view file_name);

// "20230710T1145Z" from a CloudTrail delivery file name, if it is one.
std::optional<std::string> DeliveryTime(std::string_view file_name);

}  // namespace trailsentry::cli

#endif  // TRAILSENTRY_CLIENT_INPUT_FILES_H_
