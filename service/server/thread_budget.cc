// Splitting the cores between engine and worker pool; see thread_budget.h.
#include "service/server/thread_budget.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/match.h"

namespace explainer::server {
namespace {

// cgroup v2 "quota period" (e.g. "200000 100000" = 2 cores) or "max"; 0: no quota.
int CgroupQuotaCores() {
  std::ifstream in("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  if (!(in >> quota >> period) || quota == "max" || period <= 0) return 0;
  try {
    return std::max(1, static_cast<int>(std::ceil(std::stod(quota) / period)));
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

int AvailableCores() {
  int cores = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) cores = CPU_COUNT(&set);
  if (cores <= 0) cores = static_cast<int>(std::thread::hardware_concurrency());
  const int quota = CgroupQuotaCores();
  if (quota > 0) cores = std::min(cores, quota);
  return std::max(1, cores);
}

ThreadBudget PlanThreads(int cores, const std::string& device, int intra_op_threads,
                         int workers) {
  cores = std::max(1, cores);
  const bool gpu = absl::StartsWith(device, "cuda");
  // A derived CPU engine share is never one thread where there are two cores: with one
  // intra-op thread LibTorch 1.13 ran EfficientNet-B0 ten times slower, not two
  // (explainer-engine-bench, batch 8: 2.8 vs 27 images/s on this 2-core machine; its
  // CPU convolution seems to leave oneDNN for a per-group loop), so one pool thread
  // more than the cores costs far less than the split would.
  const int min_engine = !gpu && cores >= 2 ? 2 : 1;
  ThreadBudget budget;
  if (intra_op_threads > 0 && workers > 0) {
    budget.intra_op_threads = intra_op_threads;
    budget.workers = workers;
  } else if (intra_op_threads > 0) {
    budget.intra_op_threads = intra_op_threads;
    budget.workers = std::max(1, cores - intra_op_threads);
  } else if (workers > 0) {
    budget.workers = workers;
    budget.intra_op_threads = std::max(min_engine, cores - workers);
  } else if (gpu) {
    budget.intra_op_threads = std::max(1, cores / 8);
    budget.workers = std::max(1, cores - budget.intra_op_threads);
  } else {
    budget.workers = std::max(1, cores / 4);
    budget.intra_op_threads = std::max(min_engine, cores - budget.workers);
  }
  return budget;
}

}  // namespace explainer::server
