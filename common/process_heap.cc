// Allocator choice and memory release; see process_heap.h.
#include "common/process_heap.h"

#include <dlfcn.h>
#include <malloc.h>

#if EXPLAINER_PROCESS_HEAP_TCMALLOC
#include <gperftools/malloc_extension_c.h>
#include <gperftools/tcmalloc.h>
#endif

namespace explainer::common {
namespace {

bool MallocIsTcmalloc() {
#if EXPLAINER_PROCESS_HEAP_TCMALLOC
  // Linked is not enough: a preloaded allocator (or ASan) may still be the one in use.
  static const bool is_tcmalloc =
      dlsym(RTLD_DEFAULT, "malloc") == reinterpret_cast<void*>(&tc_malloc);
  return is_tcmalloc;
#else
  return false;
#endif
}

}  // namespace

const char* HeapAllocatorName() { return MallocIsTcmalloc() ? "tcmalloc" : "glibc malloc"; }

void ConfigureProcessHeap() {
  if (MallocIsTcmalloc()) return;
  // glibc's dynamic mmap threshold rises to 32 MiB after the first large free, after
  // which decoded images and tensors stay in the heap arenas: the soak test saw RSS grow
  // 12.5% per cancelled storm and never come back. A fixed threshold keeps buffers of
  // 128 KiB and more in their own mappings (soak: +2.1% after the same load), at the
  // cost of a page fault per touched page.
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

void ReleaseFreeHeapMemory() {
#if EXPLAINER_PROCESS_HEAP_TCMALLOC
  if (MallocIsTcmalloc()) {
    MallocExtension_ReleaseFreeMemory();
    return;
  }
#endif
  malloc_trim(0);
}

}  // namespace explainer::common
