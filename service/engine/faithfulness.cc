// pytorch-grad-cam 1.5.5's faithfulness metrics for one heatmap (metrics/cam_mult_image.py,
// metrics/road.py), the target being the explained class's logit:
// - CamMultImageConfidenceChange: score(x * cam) - score(x).
// - ROAD (arXiv:2202.00449): for each percentile p, the pixels at or above the p-th
//   percentile of the map (most relevant first) or of 1 - map (least relevant first) are
//   replaced by NoisyLinearImputer (each the weighted mean of its 8 neighbours, a sparse
//   linear system, plus 0.01 * N(0, 1) noise); the score change is averaged over the
//   percentiles; combined = (LeRF - MoRF) / 2.
// The noise comes from a CPU generator seeded with road_seed per image and is drawn in
// pytorch-grad-cam's order (ROADCombined: all LeRF percentiles, then all MoRF), with the
// same LibTorch call (randn_like of the transposed solution), so the numbers equal
// torch.manual_seed(road_seed); ROADCombined(...)(x[i:i+1], ...).
#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "service/engine/cam_family.h"

namespace explainer::engine {
namespace {

constexpr float kImputerNoise = 0.01f;
constexpr double kSolverTolerance = 1e-12;  // relative residual of the imputation system

struct Neighbour {
  int dy, dx;
  double weight;
};
// road.py's neighbors_weights, in its order (offset = (row, column)).
constexpr Neighbour kNeighbours[] = {
    {1, 1, 1.0 / 12}, {0, 1, 1.0 / 6},   {-1, 1, 1.0 / 12}, {1, -1, 1.0 / 12},
    {0, -1, 1.0 / 6}, {-1, -1, 1.0 / 12}, {1, 0, 1.0 / 6},   {-1, 0, 1.0 / 6},
};

// np.percentile(values, p) (method "linear") as numpy 1.24 computes it, in double.
double Percentile(std::vector<float> sorted, double p) {
  std::sort(sorted.begin(), sorted.end());
  const double virtual_index = (p / 100.0) * static_cast<double>(sorted.size() - 1);
  const double previous = std::floor(virtual_index);
  const size_t lo = static_cast<size_t>(previous);
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double gamma = virtual_index - previous;
  const float a = sorted[lo], b = sorted[hi];
  const float diff = b - a;  // float32 subtract
  if (gamma >= 0.5) return static_cast<double>(b) - static_cast<double>(diff) * (1.0 - gamma);
  return static_cast<double>(a) + static_cast<double>(diff) * gamma;
}

}  // namespace

torch::Tensor LinearImputation(const torch::Tensor& image, const std::vector<uint8_t>& keep,
                               int height, int width) {
  const int pixels = height * width;
  std::vector<int> variable(pixels, -1);
  std::vector<int> unknown;
  for (int p = 0; p < pixels; ++p) {
    if (!keep[p]) {
      variable[p] = static_cast<int>(unknown.size());
      unknown.push_back(p);
    }
  }
  const int n = static_cast<int>(unknown.size());
  const torch::Tensor img = image.to(torch::kCPU, torch::kFloat).contiguous();
  const float* values = img.data_ptr<float>();
  // M = -A (symmetric positive definite: the weights are symmetric and every component
  // of unknown pixels touches a known one), right-hand side -b. With no pixel kept, M is
  // singular but the right-hand side is 0, and scipy's spsolve returns 0 there (the
  // image becomes pure noise, measured); CG starting from 0 gives the same.
  std::vector<double> diagonal(n, 1.0);
  std::vector<std::vector<std::pair<int, double>>> off(n);
  std::vector<double> rhs(size_t{3} * n, 0.0);
  for (int i = 0; i < n; ++i) {
    const int y = unknown[i] / width, x = unknown[i] % width;
    for (const Neighbour& nb : kNeighbours) {
      const int ny = y + nb.dy, nx = x + nb.dx;
      if (ny < 0 || nx < 0 || ny >= height || nx >= width) {
        diagonal[i] -= nb.weight;
        continue;
      }
      const int q = ny * width + nx;
      if (keep[q]) {
        for (int c = 0; c < 3; ++c) {
          rhs[size_t{3} * i + c] += nb.weight * values[static_cast<size_t>(c) * pixels + q];
        }
      } else {
        off[i].push_back({variable[q], -nb.weight});
      }
    }
  }
  // Jacobi-preconditioned conjugate gradients, one solve per channel.
  std::vector<double> solution(size_t{3} * n, 0.0);
  std::vector<double> r(n), z(n), d(n), md(n), xs(n);
  auto multiply = [&](const std::vector<double>& v, std::vector<double>& out) {
    for (int i = 0; i < n; ++i) {
      double s = diagonal[i] * v[i];
      for (const auto& [j, w] : off[i]) s += w * v[j];
      out[i] = s;
    }
  };
  for (int c = 0; c < 3; ++c) {
    double norm_b = 0.0;
    for (int i = 0; i < n; ++i) {
      r[i] = rhs[size_t{3} * i + c];
      xs[i] = 0.0;
      norm_b += r[i] * r[i];
    }
    norm_b = std::sqrt(norm_b);
    if (norm_b == 0.0) continue;
    for (int i = 0; i < n; ++i) d[i] = z[i] = r[i] / diagonal[i];
    double rz = 0.0;
    for (int i = 0; i < n; ++i) rz += r[i] * z[i];
    for (int iteration = 0; iteration < 20 * n + 100; ++iteration) {
      multiply(d, md);
      double dmd = 0.0;
      for (int i = 0; i < n; ++i) dmd += d[i] * md[i];
      const double alpha = rz / dmd;
      double norm_r = 0.0;
      for (int i = 0; i < n; ++i) {
        xs[i] += alpha * d[i];
        r[i] -= alpha * md[i];
        norm_r += r[i] * r[i];
      }
      if (std::sqrt(norm_r) <= kSolverTolerance * norm_b) break;
      double rz_next = 0.0;
      for (int i = 0; i < n; ++i) {
        z[i] = r[i] / diagonal[i];
        rz_next += r[i] * z[i];
      }
      const double beta = rz_next / rz;
      rz = rz_next;
      for (int i = 0; i < n; ++i) d[i] = z[i] + beta * d[i];
    }
    for (int i = 0; i < n; ++i) solution[size_t{3} * i + c] = xs[i];
  }
  // torch.tensor(spsolve(...), dtype=torch.float): [n, 3] with spsolve's column-major
  // layout kept (strides 1, n), so that randn_like(res.t()) is contiguous and takes the
  // same random path (normal_fill) as in pytorch-grad-cam.
  std::vector<double> channel_major(solution.size());
  for (int i = 0; i < n; ++i) {
    for (int c = 0; c < 3; ++c) channel_major[static_cast<size_t>(c) * n + i] = solution[size_t{3} * i + c];
  }
  return torch::from_blob(channel_major.data(), {3, n}, torch::kDouble).to(torch::kFloat).t();
}

FaithfulnessScores Faithfulness(const torch::Tensor& input, const cv::Mat& cam, int target,
                                float original_score, const FaithfulnessOptions& options,
                                const BatchFn& forward) {
  torch::NoGradGuard no_grad;
  FaithfulnessScores scores;
  const int height = cam.rows, width = cam.cols;
  const cv::Mat cam_c = cam.isContinuous() ? cam : cam.clone();
  const torch::Tensor map =
      torch::from_blob(const_cast<float*>(cam_c.ptr<float>()), {height, width}, torch::kFloat)
          .clone();
  if (options.cam_multiply) {
    const torch::Tensor perturbed = (input.to(torch::kCPU) * map).unsqueeze(0);
    const float after =
        forward(perturbed.to(input.device())).select(1, target).to(torch::kCPU).item<float>();
    scores.cam_multiply_change = after - original_score;
  }
  if (!options.road) return scores;
  scores.road = true;
  scores.road_percentiles = options.road_percentiles;
  if (scores.road_percentiles.empty()) {
    for (int p = 10; p <= 90; p += 10) scores.road_percentiles.push_back(static_cast<float>(p));
  }
  const torch::Tensor image = input.to(torch::kCPU, torch::kFloat).contiguous();
  const int pixels = height * width;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.road_seed);
  // LeRF first, then MoRF: the order ROADCombined draws its noise in.
  std::vector<torch::Tensor> imputed;
  for (const bool least_relevant_first : {true, false}) {
    // RemoveLeastRelevantFirst thresholds 1 - cam (float32).
    const torch::Tensor relevance = least_relevant_first ? 1 - map : map;
    const float* rel = relevance.data_ptr<float>();
    const std::vector<float> flat(rel, rel + pixels);
    for (float p : scores.road_percentiles) {
      // torch compares a float32 tensor with a Python float in float32.
      const float threshold = static_cast<float>(Percentile(flat, p));
      std::vector<uint8_t> keep(pixels);
      std::vector<int64_t> fill;
      for (int q = 0; q < pixels; ++q) {
        keep[q] = rel[q] < threshold ? 1 : 0;
        if (!keep[q]) fill.push_back(q);
      }
      const torch::Tensor transposed = LinearImputation(image, keep, height, width).t();
      const torch::Tensor noise = at::empty_like(transposed).normal_(0.0, 1.0, generator);
      const torch::Tensor values = transposed + kImputerNoise * noise;
      torch::Tensor out = image.reshape({3, pixels}).clone();
      out.index_put_({torch::indexing::Slice(), torch::tensor(fill, torch::kLong)}, values);
      imputed.push_back(out.reshape({3, height, width}));
    }
  }
  const torch::Tensor after =
      forward(torch::stack(imputed).to(input.device())).select(1, target).to(torch::kCPU);
  const int count = static_cast<int>(scores.road_percentiles.size());
  const torch::Tensor change = (after - original_score).to(torch::kFloat);
  scores.road_lerf = change.slice(0, 0, count).mean().item<float>();
  scores.road_morf = change.slice(0, count, 2 * count).mean().item<float>();
  scores.road_combined = (scores.road_lerf - scores.road_morf) / 2;
  return scores;
}

}  // namespace explainer::engine
