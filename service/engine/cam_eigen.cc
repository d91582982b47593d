// pytorch-grad-cam's get_2d_projection (EigenCAM, EigenGradCAM, eigen_smooth): the
// centred [h*w, K] activations projected on their first right singular vector.
//
// The sign of a singular vector is whatever the SVD routine gives and can flip on a
// last-bit change of its input, so parity needs numpy's exact input (NumpyMean for the
// centring) and numpy's routine (LAPACK dgesdd, see FirstRightSingularVector). LibTorch's
// own SVD gives the opposite sign on some inputs (measured), so the engine calls dgesdd
// itself: from the LAPACK that LibTorch already loaded, else liblapack.so.3, else (no
// LAPACK at all) LibTorch's SVD.
#include <dlfcn.h>
#include <torch/torch.h>

#include <vector>

#include "service/engine/cam_family.h"

namespace explainer::engine {
namespace {

using Dgesdd = void (*)(const char* jobz, const int* m, const int* n, double* a, const int* lda,
                        double* s, double* u, const int* ldu, double* vt, const int* ldvt,
                        double* work, const int* lwork, int* iwork, int* info);

Dgesdd FindDgesdd() {
  static const Dgesdd found = [] {
    void* symbol = dlsym(RTLD_DEFAULT, "dgesdd_");
    if (symbol == nullptr) {
      if (void* lapack = dlopen("liblapack.so.3", RTLD_NOW | RTLD_GLOBAL); lapack != nullptr) {
        symbol = dlsym(lapack, "dgesdd_");
      }
    }
    return reinterpret_cast<Dgesdd>(symbol);
  }();
  return found;
}

// First row of V^T of x [m, n] (float32, CPU) as numpy.linalg.svd(x) gives it: numpy's
// linalg computes in double whatever the input ("lite" _commonType), so dgesdd, jobz
// 'A', on x as float64 in column-major order, then the row cast to float32 (measured
// bit-equal on 21 matrices). Empty when dgesdd is not there or fails.
std::vector<float> FirstRightSingularVector(const torch::Tensor& x) {
  const Dgesdd dgesdd = FindDgesdd();
  if (dgesdd == nullptr) return {};
  const int m = static_cast<int>(x.size(0)), n = static_cast<int>(x.size(1));
  const torch::Tensor c = x.contiguous();
  const float* src = c.data_ptr<float>();
  std::vector<double> a(static_cast<size_t>(m) * n);
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      a[static_cast<size_t>(j) * m + i] = src[static_cast<size_t>(i) * n + j];
    }
  }
  const int k = std::min(m, n);
  std::vector<double> s(k), u(static_cast<size_t>(m) * m), vt(static_cast<size_t>(n) * n);
  std::vector<int> iwork(static_cast<size_t>(8) * k);
  const char jobz = 'A';
  int info = 0, lwork = -1;
  double query = 0.0;
  dgesdd(&jobz, &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(), &n, &query, &lwork,
         iwork.data(), &info);
  if (info != 0) return {};
  lwork = static_cast<int>(query);
  std::vector<double> work(std::max(1, lwork));
  dgesdd(&jobz, &m, &n, a.data(), &m, s.data(), u.data(), &m, vt.data(), &n, work.data(),
         &lwork, iwork.data(), &info);
  if (info != 0) return {};
  std::vector<float> first(n);
  for (int j = 0; j < n; ++j) first[j] = static_cast<float>(vt[static_cast<size_t>(j) * n]);
  return first;
}

// numpy's pairwise_sum for float32 (numpy/core/src/umath/loops_utils.h.src).
float PairwiseSum(const float* a, int64_t n) {
  if (n < 8) {
    float res = 0.0f;
    for (int64_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    float r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    int64_t i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  int64_t n2 = n / 2;
  n2 -= n2 % 8;
  return PairwiseSum(a, n2) + PairwiseSum(a + n2, n - n2);
}

}  // namespace

torch::Tensor NumpySum(const torch::Tensor& x) {
  const torch::Tensor c = x.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t rows = c.size(0), n = c.size(1);
  torch::Tensor out = torch::empty({rows}, torch::kFloat);
  const float* src = c.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  // add.reduce starts from the identity 0 and adds the pairwise sum of the row.
  for (int64_t k = 0; k < rows; ++k) dst[k] = 0.0f + PairwiseSum(src + k * n, n);
  return out.to(x.device());
}

torch::Tensor NumpyMean(const torch::Tensor& x) {
  return NumpySum(x) / static_cast<float>(x.size(1));
}

torch::Tensor Projection2d(const torch::Tensor& activations) {
  // On the CPU in float32 whatever the device, like numpy.
  torch::Tensor a = activations.detach().to(torch::kCPU, torch::kFloat);
  a = torch::where(torch::isnan(a), torch::zeros_like(a), a);  // activation_batch[isnan] = 0
  const int64_t k = a.size(0), h = a.size(1), w = a.size(2);
  torch::Tensor x = a.reshape({k, h * w}).t();  // [hw, K]
  x = (x - NumpyMean(a.reshape({k, h * w}))).contiguous();  // centred like numpy
  std::vector<float> v = FirstRightSingularVector(x);
  torch::Tensor direction;
  if (v.empty()) {
    direction = std::get<2>(torch::linalg_svd(x, /*full_matrices=*/true))[0];
  } else {
    direction = torch::from_blob(v.data(), {k}, torch::kFloat).clone();
  }
  return x.matmul(direction).reshape({h, w}).contiguous();
}

}  // namespace explainer::engine
