// How a process that runs the evaluation pipeline (trailsentryd, `trailsentry
// scan`) takes memory from glibc's malloc, in a build that does not link
// tcmalloc (CMake's TRAILSENTRY_TCMALLOC, on by default; tcmalloc keeps freed
// memory for reuse itself). Its state grows by hundreds of MB (cached
// identities, account baselines, RocksDB memtables), and each 4 KiB page of
// fresh memory costs a page fault: with 1M identities, 18% of `scan`'s time.
//
//   int main(int argc, char** argv) {
//     trailsentry::pipeline::UseTransparentHugePages(argv);  // first: may re-execute
//     trailsentry::pipeline::KeepLargeAllocationsForReuse();  // the server
//     ...
#ifndef TRAILSENTRY_SERVER_PIPELINE_PROCESS_MEMORY_H_
#define TRAILSENTRY_SERVER_PIPELINE_PROCESS_MEMORY_H_

#include <optional>
#include <string>
#include <string_view>

namespace trailsentry::pipeline {

// Where the kernel gives transparent huge pages only to memory that asks for
// them (/sys/kernel/mm/transparent_hugepage/enabled is "[madvise]"),
// re-executes the program once with glibc's malloc asking for them
// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, added to any tunables already set):
// its main heap and large blocks then fault in 2 MiB at a time instead of
// 4 KiB. The process keeps its id, name (/proc/self/comm), arguments and open
// files. Must be called first in main(), before any thread starts.
//
// Returns without re-executing where malloc is not glibc's (a sanitizer's or
// tcmalloc's), when the kernel mode is "always" (nothing to ask) or "never",
// when GLIBC_TUNABLES already sets glibc.malloc.hugetlb (so it runs at most
// once, and an operator's own value wins), when TRAILSENTRY_HUGE_PAGES=0, or
// when the exec fails (the environment is then as it was).
void UseTransparentHugePages(char** argv);

// The GLIBC_TUNABLES value to re-execute with, or nullopt to run as is; the
// decision UseTransparentHugePages makes. `thp_enabled`: the contents of
// /sys/kernel/mm/transparent_hugepage/enabled (nullopt: unreadable);
// `tunables`, `opt_out`: $GLIBC_TUNABLES and $TRAILSENTRY_HUGE_PAGES (nullopt:
// unset).
std::optional<std::string> HugePageTunables(std::optional<std::string_view> thp_enabled,
                                            std::optional<std::string_view> tunables,
                                            std::optional<std::string_view> opt_out);

// Large allocations (a request's payload, RocksDB's memtable blocks of up to 8
// MiB) come from the heap and are reused once freed, and up to 64 MiB free at
// the top of each malloc arena stays there: by default glibc maps each such
// block from the kernel and unmaps it when freed, and every page of the next
// one faults in again. Under `submit` that halved the server's page faults and
// cost ~6 MB of peak RSS (BENCHMARKS.md, issue 8's tenth part); `scan` showed
// no clear gain. Does nothing where malloc is not glibc's.
void KeepLargeAllocationsForReuse();

}  // namespace trailsentry::pipeline

#endif  // TRAILSENTRY_SERVER_PIPELINE_PROCESS_MEMORY_H_
