#include "server/pipeline/heap_prefault.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#ifdef TRAILSENTRY_USES_TCMALLOC
#include <gperftools/malloc_extension.h>
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14's value; older headers lack it
#endif

namespace trailsentry::pipeline {
#ifdef TRAILSENTRY_USES_TCMALLOC
namespace {

uintptr_t PageBytes() {
  static const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// Whether the kernel knows MADV_POPULATE_WRITE: asked of one fresh page.
bool KernelPopulates() {
  const uintptr_t page = PageBytes();
  void* p = mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  const bool ok = madvise(p, page, MADV_POPULATE_WRITE) == 0;
  munmap(p, page);
  return ok;
}

bool OptedOut() {
  const char* v = std::getenv("TRAILSENTRY_PREFAULT");
  return v != nullptr && std::string_view(v) == "0";
}

// tcmalloc's system allocator, with each block it returns of up to
// kPrefaultedBlockBytes faulted in. Called with tcmalloc's page heap locked.
class PrefaultingAllocator : public SysAllocator {
 public:
  explicit PrefaultingAllocator(SysAllocator* base) : base_(base) {}

  void* Alloc(size_t size, size_t* actual_size, size_t alignment) override {
    void* block = base_->Alloc(size, actual_size, alignment);
    if (block == nullptr || *actual_size > kPrefaultedBlockBytes) return block;
    // Whole pages only (the system allocator's blocks are page-aligned and
    // page-sized; rounding inward keeps that true if one ever is not).
    const uintptr_t page = PageBytes();
    const uintptr_t at = reinterpret_cast<uintptr_t>(block);
    const uintptr_t begin = (at + page - 1) & ~(page - 1);
    const uintptr_t end = (at + *actual_size) & ~(page - 1);
    // A failure (no memory to fault in now) leaves the pages to fault on touch.
    if (end > begin) {
      (void)madvise(static_cast<char*>(block) + (begin - at), end - begin, MADV_POPULATE_WRITE);
    }
    return block;
  }

 private:
  SysAllocator* const base_;
};

}  // namespace
#endif

bool PrefaultHeapGrowth() {
#ifdef TRAILSENTRY_USES_TCMALLOC
  if (OptedOut() || !KernelPopulates()) return false;
  MallocExtension* tcmalloc = MallocExtension::instance();
  // Lives as long as the process: tcmalloc may grow its heap until exit.
  static PrefaultingAllocator* const allocator =
      new PrefaultingAllocator(tcmalloc->GetSystemAllocator());
  tcmalloc->SetSystemAllocator(allocator);
  return true;
#else
  return false;
#endif
}

}  // namespace trailsentry::pipeline
