// The process heap of the long-running binaries (explainer-server, explainer-engine-bench):
// which allocator serves it, how it is set up at start and how it gives memory back.
//
// Why it matters: a Grad-CAM batch allocates and frees the same large tensors (tens of
// MB) every time. Under glibc malloc each of them is a fresh mmap and page faults on
// every touch - half the engine's CPU time went to the kernel. tcmalloc (gperftools'
// tcmalloc_minimal, linked when the build finds libgoogle-perftools-dev and no sanitizer
// is on) keeps freed spans for reuse and returns them to the system gradually and on
// ReleaseFreeHeapMemory(). docs/BENCHMARKS.md has the figures.
#ifndef EXPLAINER_COMMON_PROCESS_HEAP_H_
#define EXPLAINER_COMMON_PROCESS_HEAP_H_

namespace explainer::common {

// "tcmalloc" when this process's malloc is tcmalloc's (checked at run time, not just
// linked), else "glibc malloc".
const char* HeapAllocatorName();

// Call once at the top of main, before any thread starts. With glibc malloc it fixes the
// mmap threshold at 128 KiB, so that large short-lived buffers go back to the system
// when freed instead of staying in the arenas (slower, but the RSS stays flat); with
// tcmalloc it does nothing.
void ConfigureProcessHeap();

// Returns free heap memory to the system: tcmalloc's ReleaseFreeMemory, or glibc's
// malloc_trim(0).
void ReleaseFreeHeapMemory();

}  // namespace explainer::common

#endif  // EXPLAINER_COMMON_PROCESS_HEAP_H_
