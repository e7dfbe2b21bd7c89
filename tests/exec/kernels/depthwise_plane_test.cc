// Tests of src/exec/kernels/depthwise_plane.cc: DepthwisePlaneSum equals, bit
// for bit, the plain sum of each output's in-bounds taps in (row, column)
// order for every kernel, stride, dilation and padding (so the vectorised
// blocks, the remainder columns and the run-time-sized kernels agree), and
// non-finite weights reach only the outputs whose taps read the input.
#include "exec/kernels/depthwise_plane.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace pq::exec {
namespace {

// The reference: each product rounded on its own, then added (no fused
// multiply-add, as depthwise_plane.cc is compiled).
std::vector<float> ReferenceSum(const std::vector<float>& x, const std::vector<float>& w, const DepthwisePlane& g) {
  std::vector<float> y(static_cast<size_t>(g.oh * g.ow));
  for (int64_t oy = 0; oy < g.oh; ++oy) {
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      float acc = 0.0f;
      for (int64_t i = 0; i < g.kh; ++i) {
        for (int64_t j = 0; j < g.kw; ++j) {
          const int64_t sy = oy * g.stride_y - g.pad_top + i * g.dilation_y;
          const int64_t sx = ox * g.stride_x - g.pad_left + j * g.dilation_x;
          if (sy < 0 || sy >= g.ih || sx < 0 || sx >= g.iw) continue;
          volatile float product = w[i * g.kw + j] * x[sy * g.iw + sx];
          acc = acc + product;
        }
      }
      y[oy * g.ow + ox] = acc;
    }
  }
  return y;
}

// A random plane geometry: kernels 1-6 (3 and 5 take the unrolled paths),
// strides 1-3, dilations 1-2, pads 0 to the kernel's reach.
DepthwisePlane RandomGeometry(std::mt19937* rng) {
  auto pick = [rng](int64_t lo, int64_t hi) { return lo + static_cast<int64_t>((*rng)() % (hi - lo + 1)); };
  DepthwisePlane g{};
  g.kh = pick(1, 6);
  g.kw = pick(0, 2) == 0 ? g.kh : pick(1, 6);
  g.stride_y = pick(1, 3);
  g.stride_x = pick(1, 3);
  g.dilation_y = pick(1, 2);
  g.dilation_x = pick(1, 2);
  g.pad_top = pick(0, (g.kh - 1) * g.dilation_y);
  g.pad_left = pick(0, (g.kw - 1) * g.dilation_x);
  const int64_t reach_y = (g.kh - 1) * g.dilation_y + 1, reach_x = (g.kw - 1) * g.dilation_x + 1;
  g.ih = pick(std::max<int64_t>(1, reach_y - 2 * g.pad_top), 24);
  g.iw = pick(std::max<int64_t>(1, reach_x - 2 * g.pad_left), 40);
  g.oh = (g.ih + 2 * g.pad_top - reach_y) / g.stride_y + 1;
  g.ow = (g.iw + 2 * g.pad_left - reach_x) / g.stride_x + 1;
  return g;
}

TEST(DepthwisePlaneSumTest, EqualsTheInBoundsSumBitForBit) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  int checked = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    const DepthwisePlane g = RandomGeometry(&rng);
    if (g.oh <= 0 || g.ow <= 0) continue;
    std::vector<float> x(static_cast<size_t>(g.ih * g.iw)), w(static_cast<size_t>(g.kh * g.kw));
    for (float& v : x) v = normal(rng);
    for (float& v : w) v = normal(rng);
    std::vector<float> scratch(DepthwiseScratchFloats(g)), y(static_cast<size_t>(g.oh * g.ow));
    DepthwisePlaneSum(x.data(), w.data(), g, scratch.data(), y.data());
    const std::vector<float> expected = ReferenceSum(x, w, g);
    ASSERT_EQ(std::memcmp(y.data(), expected.data(), y.size() * sizeof(float)), 0)
        << "kernel " << g.kh << "x" << g.kw << " stride " << g.stride_y << "," << g.stride_x << " dilation "
        << g.dilation_y << "," << g.dilation_x << " pads " << g.pad_top << "," << g.pad_left << " input " << g.ih
        << "x" << g.iw;
    ++checked;
  }
  EXPECT_GT(checked, 2000);
}

// A 3x3 kernel whose corner weight is infinite over a 4x4 input padded by
// one: the outputs whose corner tap falls in the padding stay finite (the
// tap is skipped, not multiplied by a padded zero), the others are infinite.
TEST(DepthwisePlaneSumTest, InfiniteWeightOnlyReachesOutputsThatReadIt) {
  const DepthwisePlane g{4, 4, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1};
  std::vector<float> x(16, 1.0f), w(9, 0.5f), scratch(DepthwiseScratchFloats(g)), y(16);
  w[0] = std::numeric_limits<float>::infinity();
  DepthwisePlaneSum(x.data(), w.data(), g, scratch.data(), y.data());
  for (int64_t oy = 0; oy < 4; ++oy) {
    for (int64_t ox = 0; ox < 4; ++ox) {
      const bool reads_corner = oy > 0 && ox > 0;
      EXPECT_EQ(std::isinf(y[oy * 4 + ox]), reads_corner) << oy << "," << ox;
      EXPECT_FALSE(std::isnan(y[oy * 4 + ox])) << oy << "," << ox;
    }
  }
}

}  // namespace
}  // namespace pq::exec
