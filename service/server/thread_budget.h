// How the server's cores are shared between the engine (LibTorch intra-op threads) and
// the worker pool (decode, preprocessing, post-processing), so that together they use
// each core once instead of both defaulting to every core and fighting over them.
#ifndef EXPLAINER_SERVICE_SERVER_THREAD_BUDGET_H_
#define EXPLAINER_SERVICE_SERVER_THREAD_BUDGET_H_

#include <string>

namespace explainer::server {

struct ThreadBudget {
  int intra_op_threads = 1;  // the engine's LibTorch intra-op threads
  int workers = 1;           // worker pool threads
};

// The cores this process may run on: its CPU affinity mask (taskset, cpusets), further
// capped by a cgroup v2 CPU quota (/sys/fs/cgroup/cpu.max, as Kubernetes CPU limits
// set it); at least 1.
int AvailableCores();

// The split for `cores` on `device` ("cpu", "cuda", "cuda:N"); a value > 0 in
// intra_op_threads / workers (--threads / --workers) is kept as given and the other
// part gets the rest (at least 1).
// Automatic split on the CPU: the engine does most of the work (a Grad-CAM batch costs
// several times the decode, resize and heatmap encoding of its images, once overlays are
// rendered by the client), so the pool gets a quarter of the cores (at least 1) and the
// engine the rest. On a GPU the host only feeds the device: the engine keeps an eighth
// (at least 1) for its CPU-side work, the pool the rest. A derived CPU engine share is
// at least 2 threads where there are 2 cores or more (one thread made LibTorch ten
// times slower, see thread_budget.cc), so 2 and 3 cores get 2 + 1.
// Examples: 2 cores cpu: 2 + 1; 16 cores cpu: 12 + 4; 16 cores cuda: 2 + 14.
ThreadBudget PlanThreads(int cores, const std::string& device, int intra_op_threads,
                         int workers);

}  // namespace explainer::server

#endif  // EXPLAINER_SERVICE_SERVER_THREAD_BUDGET_H_
