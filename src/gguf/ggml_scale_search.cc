#include "gguf/ggml_scale_search.h"

#include <algorithm>
#include <cmath>

#include "base/float16.h"

namespace pq::gguf {
namespace {

// Candidate scales map the value of largest magnitude to extreme level +- k
// steps of a tenth of the spacing next to that extreme, k in [-kSteps, kSteps].
constexpr int kSteps = 10;
constexpr float kStepFraction = 0.1f;
// Rounds of (nearest level, least-squares scale) refinement of the best candidate.
constexpr int kRefineRounds = 3;

struct Fit {
  float scale = 0;     // least-squares scale for the assignment
  double score = -1;   // (sum w q x)^2 / sum w q^2: error reduction at that scale
};

// Assigns each value its nearest level at scale `d` and fits the scale.
Fit FitAt(const float* x, const float* w, int n, const SymmetricLevels& lv, float d) {
  double sumqx = 0, sumq2 = 0;
  const float inv = 1.0f / d;
  for (int j = 0; j < n; ++j) {
    const float q = lv.levels[NearestLevel(lv, x[j] * inv)];
    sumqx += static_cast<double>(w[j]) * q * x[j];
    sumq2 += static_cast<double>(w[j]) * q * q;
  }
  Fit fit;
  if (sumq2 > 0) {
    fit.scale = static_cast<float>(sumqx / sumq2);
    fit.score = sumqx * sumqx / sumq2;
  }
  return fit;
}

// The weighted squared error of the block stored with half bits `bits`,
// levels chosen nearest; fills `index`.
double ExactError(const float* x, const float* w, int n, const SymmetricLevels& lv, uint16_t bits,
                  uint8_t* index) {
  const float d = HalfBitsToFloat(bits);
  if (!std::isfinite(d)) return INFINITY;
  const int zero = NearestLevel(lv, 0.0f);
  double error = 0;
  for (int j = 0; j < n; ++j) {
    const int i = d != 0 ? NearestLevel(lv, x[j] / d) : zero;
    index[j] = static_cast<uint8_t>(i);
    const float diff = x[j] - d * lv.levels[i];
    error += static_cast<double>(w[j]) * diff * diff;
  }
  return error;
}

}  // namespace

int NearestLevel(const SymmetricLevels& lv, float t) {
  if (lv.uniform) {
    const float i = std::nearbyint(t - lv.levels[0]);
    if (!(i > 0)) return 0;  // also NaN
    return i >= lv.count - 1 ? lv.count - 1 : static_cast<int>(i);
  }
  const float* end = lv.levels + lv.count;
  const float* above = std::lower_bound(lv.levels, end, t);
  if (above == lv.levels) return 0;
  if (above == end) return lv.count - 1;
  const float* below = above - 1;
  return static_cast<int>((t - *below <= *above - t ? below : above) - lv.levels);
}

void SearchSymmetricScale(const float* x, const float* w, int n, const SymmetricLevels& lv,
                          uint16_t* d_bits, uint8_t* index) {
  float amax = 0, max = 0;  // largest magnitude, and that value with its sign
  for (int j = 0; j < n; ++j) {
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float lo = lv.levels[0];
  const float hi = lv.levels[lv.count - 1];
  if (amax == 0) {
    *d_bits = 0;
    ExactError(x, w, n, lv, 0, index);
    return;
  }
  // Coarse search: the best least-squares fit among the pivot candidates.
  Fit best;
  const float pivots[2] = {lo, hi};
  const float spacings[2] = {lv.levels[1] - lo, hi - lv.levels[lv.count - 2]};
  for (int p = 0; p < 2; ++p) {
    const float step = spacings[p] * kStepFraction;
    for (int k = -kSteps; k <= kSteps; ++k) {
      const float t = pivots[p] + k * step;
      if (t == 0) continue;
      const Fit fit = FitAt(x, w, n, lv, max / t);
      if (fit.score > best.score) best = fit;
    }
  }
  float d = best.score > 0 ? best.scale : max / lo;
  for (int round = 0; round < kRefineRounds; ++round) {
    const Fit fit = FitAt(x, w, n, lv, d);
    if (!(fit.score > 0)) break;
    d = fit.scale;
  }
  // Exact comparison of the stored halves: the refined scale rounded, its
  // neighbours, and the plain amax-to-extreme scale.
  const uint16_t rounded = FloatToHalfBits(d);
  const uint16_t candidates[4] = {rounded, static_cast<uint16_t>(rounded + 1),
                                  static_cast<uint16_t>(rounded - 1), FloatToHalfBits(max / lo)};
  double best_error = INFINITY;
  uint8_t trial[256];
  for (uint16_t bits : candidates) {
    // Stepping the bits must not wrap across zero or into another sign.
    if ((bits & 0x8000u) != (rounded & 0x8000u) && bits != candidates[3]) continue;
    const double error = ExactError(x, w, n, lv, bits, trial);
    if (error < best_error) {
      best_error = error;
      *d_bits = bits;
      std::copy(trial, trial + n, index);
    }
  }
  if (best_error == INFINITY) {  // beyond the half range: every value reads as inf
    *d_bits = rounded;
    std::fill(index, index + n, static_cast<uint8_t>(NearestLevel(lv, 0.0f)));
  }
}

}  // namespace pq::gguf
