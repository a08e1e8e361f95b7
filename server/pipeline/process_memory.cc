#include "server/pipeline/process_memory.h"

#include <dlfcn.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace trailsentry::pipeline {

namespace {

constexpr std::string_view kHugeTlb = "glibc.malloc.hugetlb";
// The process name (/proc/self/comm) across the re-execution: executing
// /proc/self/exe would otherwise rename the process "exe" (ps, top, pgrep and
// pkill without -f, and every thread started after it).
constexpr char kNameVar[] = "TRAILSENTRY_PROCESS_NAME";

// A sanitizer's allocator replaces glibc's malloc, and so does tcmalloc where
// the program links it (CMake's TRAILSENTRY_TCMALLOC): glibc's malloc then has
// nothing to ask for, and re-executing would only start the program twice.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerMalloc = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitizerMalloc = true;
#else
constexpr bool kSanitizerMalloc = false;
#endif
#else
constexpr bool kSanitizerMalloc = false;
#endif

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// True when malloc is glibc's: not a sanitizer's, not tcmalloc's (gperftools'
// tcmalloc exports tc_malloc beside the malloc it replaces).
bool GlibcMalloc() {
  static const bool glibc = !kSanitizerMalloc && dlsym(RTLD_DEFAULT, "tc_malloc") == nullptr;
  return glibc;
}

}  // namespace

std::optional<std::string> HugePageTunables(std::optional<std::string_view> thp_enabled,
                                            std::optional<std::string_view> tunables,
                                            std::optional<std::string_view> opt_out) {
  if (opt_out && *opt_out == "0") return std::nullopt;
  // The kernel marks its mode in brackets: "always [madvise] never".
  if (!thp_enabled || thp_enabled->find("[madvise]") == std::string_view::npos) return std::nullopt;
  if (tunables && tunables->find(kHugeTlb) != std::string_view::npos) return std::nullopt;
  std::string out;
  if (tunables && !tunables->empty()) {
    out.append(*tunables);
    out.push_back(':');
  }
  out.append(kHugeTlb);
  out.append("=1");
  return out;
}

void UseTransparentHugePages(char** argv) {
  if (const char* name = std::getenv(kNameVar); name != nullptr) {  // re-executed
    prctl(PR_SET_NAME, name);
    unsetenv(kNameVar);
    return;
  }
  if (!GlibcMalloc()) return;
  const std::optional<std::string> before = Env("GLIBC_TUNABLES");
  const std::optional<std::string> tunables =
      HugePageTunables(ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"), before,
                       Env("TRAILSENTRY_HUGE_PAGES"));
  if (!tunables) return;
  char name[16] = {};  // the kernel's limit: 15 bytes and a NUL
  if (prctl(PR_GET_NAME, name) != 0) return;
  if (setenv("GLIBC_TUNABLES", tunables->c_str(), 1) == 0 && setenv(kNameVar, name, 1) == 0) {
    execv("/proc/self/exe", argv);
  }
  // Still here: the exec failed. Run as is, with the environment as it was.
  unsetenv(kNameVar);
  if (before) {
    setenv("GLIBC_TUNABLES", before->c_str(), 1);
  } else {
    unsetenv("GLIBC_TUNABLES");
  }
}

void KeepLargeAllocationsForReuse() {
  if (!GlibcMalloc()) return;
  constexpr int kBytes = 64 << 20;
  mallopt(M_MMAP_THRESHOLD, kBytes);
  mallopt(M_TRIM_THRESHOLD, kBytes);
}

}  // namespace trailsentry::pipeline
