// The split of the cores between engine and worker pool (thread_budget.h).
#include "service/server/thread_budget.h"

#include <algorithm>
#include <thread>

#include "gtest/gtest.h"

namespace explainer::server {
namespace {

void ExpectSplit(int cores, const char* device, int threads, int workers, int want_threads,
                 int want_workers) {
  const ThreadBudget budget = PlanThreads(cores, device, threads, workers);
  EXPECT_EQ(budget.intra_op_threads, want_threads)
      << cores << " cores " << device << " --threads=" << threads << " --workers=" << workers;
  EXPECT_EQ(budget.workers, want_workers)
      << cores << " cores " << device << " --threads=" << threads << " --workers=" << workers;
}

TEST(ThreadBudgetTest, AutomaticSplitUsesEachCoreOnce) {
  ExpectSplit(1, "cpu", 0, 0, 1, 1);  // nothing to split: one each
  ExpectSplit(2, "cpu", 0, 0, 2, 1);  // the engine keeps two threads (thread_budget.cc)
  ExpectSplit(3, "cpu", 0, 0, 2, 1);
  ExpectSplit(4, "cpu", 0, 0, 3, 1);
  ExpectSplit(16, "cpu", 0, 0, 12, 4);
  ExpectSplit(64, "cpu", 0, 0, 48, 16);
  ExpectSplit(2, "cuda", 0, 0, 1, 1);
  ExpectSplit(16, "cuda:1", 0, 0, 2, 14);
  for (int cores = 3; cores <= 128; ++cores) {
    const ThreadBudget cpu = PlanThreads(cores, "cpu", 0, 0);
    const ThreadBudget gpu = PlanThreads(cores, "cuda", 0, 0);
    EXPECT_EQ(cpu.intra_op_threads + cpu.workers, cores);
    EXPECT_EQ(gpu.intra_op_threads + gpu.workers, cores);
  }
}

TEST(ThreadBudgetTest, AFlagIsKeptAndTheOtherPartGetsTheRest) {
  ExpectSplit(16, "cpu", 10, 0, 10, 6);
  ExpectSplit(16, "cpu", 0, 3, 13, 3);
  ExpectSplit(16, "cpu", 16, 0, 16, 1);  // all to the engine: the pool still needs one
  ExpectSplit(4, "cpu", 0, 9, 2, 9);  // a derived CPU engine share is at least two
  ExpectSplit(2, "cuda", 0, 1, 1, 1);
  ExpectSplit(4, "cpu", 7, 9, 7, 9);  // both given: as given, even oversubscribed
}

TEST(ThreadBudgetTest, AvailableCoresIsAtMostTheHardware) {
  const int cores = AvailableCores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace explainer::server
