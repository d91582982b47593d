// The process heap (common/process_heap.h): the allocator the build chose is the one
// malloc reaches at run time, and releasing gives freed memory back to the system.
#include "common/process_heap.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace explainer::common {
namespace {

// VmRSS of this process in MiB.
double RssMib() {
  std::ifstream status("/proc/self/status");
  std::string key;
  double kb = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> kb;
      return kb / 1024.0;
    }
    status.ignore(1 << 12, '\n');
  }
  return -1;
}

TEST(ProcessHeapTest, MallocIsTheAllocatorTheBuildChose) {
#if EXPLAINER_PROCESS_HEAP_TCMALLOC
  // Linked ahead of libc, tcmalloc's malloc must be the one every library calls.
  EXPECT_STREQ(HeapAllocatorName(), "tcmalloc");
#else
  EXPECT_STREQ(HeapAllocatorName(), "glibc malloc");
#endif
}

TEST(ProcessHeapTest, ReleaseGivesFreedBuffersBackToTheSystem) {
  ConfigureProcessHeap();
  ReleaseFreeHeapMemory();
  const double before = RssMib();
  ASSERT_GT(before, 0);
  // 256 buffers of 1 MiB, each touched, then freed: tcmalloc keeps the spans for reuse
  // (and hands them back only slowly by itself); glibc with the fixed threshold unmaps
  // them on free.
  std::vector<char*> buffers;
  for (int i = 0; i < 256; ++i) {
    char* buffer = static_cast<char*>(std::malloc(1 << 20));
    ASSERT_NE(buffer, nullptr);
    std::memset(buffer, i, 1 << 20);
    buffers.push_back(buffer);
  }
  EXPECT_GT(RssMib(), before + 200);
  for (char* buffer : buffers) std::free(buffer);
  ReleaseFreeHeapMemory();
  EXPECT_LT(RssMib(), before + 32) << "RSS before the buffers: " << before << " MiB";
}

}  // namespace
}  // namespace explainer::common
