// Portable random numbers for the phantom generator: std::mt19937_64 is specified
// bit for bit by the standard, the std:: distributions are not, so ours are here.
#ifndef EXPLAINER_TOOLS_PHANTOM_RANDOM_H_
#define EXPLAINER_TOOLS_PHANTOM_RANDOM_H_

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace explainer::phantom {

// SplitMix64 finaliser: derives independent per-image seeds from (seed, id), so an
// image depends only on the run seed and its own id, not on --count or --threads.
inline uint64_t MixSeed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Rule for callers: at most one draw per expression (C++ leaves the evaluation order
// of function arguments and operands unspecified, so two draws in one expression
// could come out in another order under another compiler).
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}

  uint64_t Next() { return engine_(); }
  // [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  // Inclusive range; the modulo bias is irrelevant at these sizes.
  int UniformInt(int lo, int hi) {
    return lo + static_cast<int>(engine_() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool Bernoulli(double p) { return Uniform() < p; }
  double Sign() { return Bernoulli(0.5) ? 1.0 : -1.0; }
  // Box-Muller without a cached second value, so every call consumes two draws.
  double Normal(double mean, double sd) {
    const double u1 = 1.0 - Uniform();  // (0, 1]
    const double u2 = Uniform();
    return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  // Approximately normal (sum of four uniforms), no libm: for per-pixel noise.
  float FastNormal() {
    const uint64_t r = engine_();
    const float s = static_cast<float>(r & 0xffff) + static_cast<float>((r >> 16) & 0xffff) +
                    static_cast<float>((r >> 32) & 0xffff) + static_cast<float>(r >> 48);
    return (s * (1.0f / 65536.0f) - 2.0f) * 1.7320508f;
  }
  // Index drawn with probability proportional to weights[i].
  size_t Choose(const std::vector<double>& weights) {
    double total = 0;
    for (double w : weights) total += w;
    double x = Uniform() * total;
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return i;
      x -= weights[i];
    }
    return weights.size() - 1;
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace explainer::phantom

#endif  // EXPLAINER_TOOLS_PHANTOM_RANDOM_H_
