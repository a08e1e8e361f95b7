// How a program that runs the evaluation pipeline (trailsentryd, `trailsentry
// scan`) takes fresh memory from the kernel when it allocates through tcmalloc
// (CMake's TRAILSENTRY_TCMALLOC, on by default). Its state grows by hundreds of
// MB with its identities, and each 4 KiB page of it costs a page fault on first
// touch: with 1M new identities, 9-22% of a one-thread `scan` (on this
// project's VMs, where a fault's entry and exit cost as much as zeroing the
// page; BENCHMARKS.md, issue 8's twenty-sixth part). Faulting a whole block in
// with one system call when tcmalloc takes it from the kernel costs the
// zeroing alone.
//
//   int main(int argc, char** argv) {
//     trailsentry::pipeline::PrefaultHeapGrowth();  // before the state grows
//     ...
#ifndef TRAILSENTRY_SERVER_PIPELINE_HEAP_PREFAULT_H_
#define TRAILSENTRY_SERVER_PIPELINE_HEAP_PREFAULT_H_

#include <cstddef>

namespace trailsentry::pipeline {

// Each block of up to kPrefaultedBlockBytes that tcmalloc takes from the
// kernel from now on is faulted in at once (madvise MADV_POPULATE_WRITE).
// tcmalloc grows its heap for small objects 1 MiB at a time; a larger block
// serves one large allocation (a Bloom filter, a read buffer), which may be
// touched sparsely, so it is left to fault in page by page. Memory tcmalloc
// hands back to the kernel and reuses faults in again as before.
//
// Returns whether it is in place: false where malloc is not tcmalloc (a
// sanitizer build, -DTRAILSENTRY_TCMALLOC=OFF), where the kernel lacks
// MADV_POPULATE_WRITE (Linux before 5.14), or when TRAILSENTRY_PREFAULT=0. Call
// it once, before threads allocate.
bool PrefaultHeapGrowth();

inline constexpr size_t kPrefaultedBlockBytes = size_t{4} << 20;

}  // namespace trailsentry::pipeline

#endif  // TRAILSENTRY_SERVER_PIPELINE_HEAP_PREFAULT_H_
