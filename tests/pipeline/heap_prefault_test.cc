// PrefaultHeapGrowth (server/pipeline/heap_prefault.h): with tcmalloc, memory
// its heap takes from the kernel afterwards is resident before it is touched;
// TRAILSENTRY_PREFAULT=0 leaves it to fault in on touch, as before. Linked like
// the programs (trailsentry_malloc), so the Release build runs it on tcmalloc
// and a sanitizer build on the sanitizer's allocator (nothing to do there).
#include "server/pipeline/heap_prefault.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "gtest/gtest.h"

namespace trailsentry::pipeline {
namespace {

// The share of `block`'s whole pages that are resident (mincore).
double ResidentShare(void* block, size_t bytes) {
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t at = reinterpret_cast<uintptr_t>(block);
  const uintptr_t begin = (at + page - 1) & ~(page - 1);
  const uintptr_t end = (at + bytes) & ~(page - 1);
  std::vector<unsigned char> resident((end - begin) / page);
  if (mincore(static_cast<char*>(block) + (begin - at), end - begin, resident.data()) != 0) {
    return -1;
  }
  size_t n = 0;
  for (unsigned char r : resident) n += r & 1;
  return static_cast<double>(n) / static_cast<double>(resident.size());
}

// In a child process (the environment as given): installs it, then grows the
// heap by 32 MiB in blocks of 1 MiB, tcmalloc's growth step, and reports in
// the exit code whether it was installed (bit 0) and whether nearly all of
// those blocks were resident before their first touch (bit 1). The first block
// may start in free pages the heap held before (tcmalloc joins them to the
// new ones), hence "nearly".
int InChild(bool opt_out) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (opt_out) setenv("TRAILSENTRY_PREFAULT", "0", 1);
    const bool installed = PrefaultHeapGrowth();
    constexpr size_t kBlock = size_t{1} << 20;
    static_assert(kBlock <= kPrefaultedBlockBytes);
    double resident = 0;
    for (int i = 0; i < 32; ++i) {
      void* block = std::malloc(kBlock);
      resident += block == nullptr ? 0 : ResidentShare(block, kBlock) / 32;
    }
    _exit((installed ? 1 : 0) | (resident >= 0.9 ? 2 : 0));
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

#ifdef TRAILSENTRY_TEST_TCMALLOC
TEST(HeapPrefault, MemoryTcmallocTakesIsResidentBeforeItsFirstTouch) {
  EXPECT_EQ(InChild(/*opt_out=*/false), 1 | 2);
}

TEST(HeapPrefault, TrailsentryPrefaultZeroLeavesItToFaultOnTouch) {
  EXPECT_EQ(InChild(/*opt_out=*/true), 0);
}
#else
TEST(HeapPrefault, WithoutTcmallocItIsNotInPlace) { EXPECT_EQ(InChild(/*opt_out=*/false) & 1, 0); }
#endif

}  // namespace
}  // namespace trailsentry::pipeline
