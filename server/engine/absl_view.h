// AbslView: std::string_view -> absl::string_view.
//
// Debian's abseil 20220623 is built with ABSL_OPTION_USE_STD_STRING_VIEW=0, so
// absl::string_view is its own type and absl::StrCat, StrContains and the hashed
// containers' heterogeneous lookups do not take a std::string_view directly:
//
//   absl::StrCat("field ", AbslView(name));
//   set.contains(AbslView(name));
#ifndef TRAILSENTRY_SERVER_ENGINE_ABSL_VIEW_H_
#define TRAILSENTRY_SERVER_ENGINE_ABSL_VIEW_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace trailsentry {

inline absl::string_view AbslView(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace trailsentry

#endif  // TRAILSENTRY_SERVER_ENGINE_ABSL_VIEW_H_
