#include "exec/kernels/softmax_ort_order.h"

#include <algorithm>
#include <cmath>

namespace pq::exec {

float OrtSoftmaxExp(float x) {
  // MLAS's constants (onnxruntime/core/mlas/lib/compute.cpp, MIT licence):
  // ln 2 split in two, 1.5 * 2^23 to round to an integer, and the
  // polynomial's coefficients; their values are what makes the results equal.
  constexpr float kLowerRange = -88.3762626647949f;
  constexpr float kRoundingBias = 12582912.0f;
  constexpr float kLog2Reciprocal = 1.44269504088896341f;
  constexpr float kLog2High = -6.93145752e-1f;
  constexpr float kLog2Low = -1.42860677e-6f;
  constexpr float kPoly0 = 0x1.694000p-10f, kPoly1 = 0x1.125edcp-7f, kPoly2 = 0x1.555b5ap-5f;
  constexpr float kPoly3 = 0x1.555450p-3f, kPoly4 = 0x1.fffff6p-2f, kPoly56 = 1.0f;
  float v = std::max(kLowerRange, x);
  const float m = std::fma(v, kLog2Reciprocal, kRoundingBias) - kRoundingBias;
  v = std::fma(m, kLog2High, v);
  v = std::fma(m, kLog2Low, v);
  float p = std::fma(kPoly0, v, kPoly1);
  p = std::fma(p, v, kPoly2);
  p = std::fma(p, v, kPoly3);
  p = std::fma(p, v, kPoly4);
  p = std::fma(p, v, kPoly56);
  p = std::fma(p, v, kPoly56);
  return std::ldexp(p, static_cast<int>(m));
}

void SoftmaxInOrtOrder(float* row, int64_t n) {
  if (n <= 0) return;
  float max = row[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, row[i]);
  const float negative_max = -max;
  float lanes[16] = {};
  for (int64_t i = 0; i < n; ++i) {
    row[i] = OrtSoftmaxExp(row[i] + negative_max);
    lanes[i % 16] += row[i];
  }
  // The AVX-512 reduction: lanes i and i + 8 first, then pairs, then the two
  // halves of what is left.
  float u[8];
  for (int i = 0; i < 8; ++i) u[i] = lanes[i + 8] + lanes[i];
  const float sum = ((u[0] + u[1]) + (u[2] + u[3])) + ((u[4] + u[5]) + (u[6] + u[7]));
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) row[i] *= inv;
}

}  // namespace pq::exec
