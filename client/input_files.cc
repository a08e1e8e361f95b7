#include "client/input_files.h"

#include <algorithm>
#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"

namespace trailsentry::cli {
namespace fs = std::filesystem;

std::optional<std::string> DeliveryTime(std::string_view name) {
  // <account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json[.gz]
  const size_t marker = name.find("_CloudTrail_");
  if (marker == std::string_view::npos) return std::nullopt;
  const size_t region_end = name.find('_', marker + 12);
  if (region_end == std::string_view::npos) return std::nullopt;
  const std::string_view stamp = name.substr(region_end + 1, 14);
  if (stamp.size() != 14 || stamp[8] != 'T' || stamp[13] != 'Z') return std::nullopt;
  for (size_t i = 0; i < 13; ++i) {
    if (i != 8 && (stamp[i] < '0' || stamp[i] > '9')) return std::nullopt;
  }
  return std::string(stamp);
}

bool LooksLikeCloudTrail(std::string_view name) {
  for (std::string_view ext :
       {".json", ".json.gz", ".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"}) {
    if (name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext) return true;
  }
  return false;
}

absl::StatusOr<std::vector<std::string>> ExpandInputs(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st))
      return absl::NotFoundError(absl::StrCat(path, ": no such file or folder"));
    if (fs::is_directory(st)) {
      for (auto it = fs::recursive_directory_iterator(path, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file() && LooksLikeCloudTrail(it->path().filename().string())) {
          files.push_back(it->path().string());
        }
      }
      if (ec) return absl::UnavailableError(absl::StrCat(path, ": ", ec.message()));
    } else {
      files.push_back(path);
    }
  }
  // Delivery files by (time in name, path); then the rest by path.
  auto key = [](const std::string& f) {
    std::optional<std::string> t = DeliveryTime(fs::path(f).filename().string());
    return std::tuple(!t.has_value(), t.value_or(""), f);
  };
  std::sort(files.begin(), files.end(),
            [&](const std::string& a, const std::string& b) { return key(a) < key(b); });
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

}  // namespace trailsentry::cli
