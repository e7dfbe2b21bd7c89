// Tests of the vectorized scans the schemes run over every weight
// (quant/transpose.h, quant/block_range.h, quant/finite_check.h,
// quant/error_sums.h): each is checked against the element-by-element
// definition on sizes around its lane and block widths, so the tails and the
// partial tiles are covered.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "quant/block_range.h"
#include "quant/error_sums.h"
#include "quant/finite_check.h"
#include "quant/transpose.h"

namespace pq::quant {
namespace {

std::vector<float> RandomFloats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = normal(rng);
  return v;
}

TEST(TransposeFloatsTest, EqualsTheDefinitionOnFullAndPartialBlocks) {
  for (const auto& [rows, cols] : std::vector<std::pair<int64_t, int64_t>>{
           {1, 1}, {1, 70}, {70, 1}, {64, 64}, {65, 63}, {128, 192}, {130, 67}, {3, 200}}) {
    const std::vector<float> src =
        RandomFloats(static_cast<size_t>(rows * cols), static_cast<uint32_t>(rows * 1000 + cols));
    // From an address that is not float-aligned, as inline raw data can be.
    const char* bytes = reinterpret_cast<const char*>(src.data());
    std::vector<char> unaligned(1, 0);
    unaligned.insert(unaligned.end(), bytes, bytes + src.size() * sizeof(float));
    std::vector<float> dst(src.size(), -1.0f);
    TransposeFloats(unaligned.data() + 1, rows, cols, dst.data());
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        ASSERT_EQ(dst[static_cast<size_t>(c * rows + r)], src[static_cast<size_t>(r * cols + c)])
            << rows << "x" << cols << " at (" << r << ", " << c << ")";
      }
    }
  }
}

float ScalarAbsMax(const std::vector<float>& w) {
  float m = 0;
  for (float x : w) m = std::max(m, std::fabs(x));
  return m;
}

TEST(BlockRangeTest, AbsMaxAndRangeEqualTheRunningScanForEveryLength) {
  const std::vector<float> all = RandomFloats(100, 7);
  for (size_t n = 0; n <= all.size(); ++n) {
    const std::vector<float> w(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(AbsMax(w.data(), static_cast<int64_t>(n)), ScalarAbsMax(w)) << n;
    float lo = 0, hi = 0, want_lo = 0, want_hi = 0;
    for (float x : w) {
      want_lo = std::min(want_lo, x);
      want_hi = std::max(want_hi, x);
    }
    RangeWithZero(w.data(), static_cast<int64_t>(n), &lo, &hi);
    EXPECT_EQ(lo, want_lo) << n;
    EXPECT_EQ(hi, want_hi) << n;
  }
}

TEST(BlockRangeTest, SignedZerosAndNanAreTreatedAsTheRunningScanTreatsThem) {
  // All -0: the absmax and the range keep the +0 they start from.
  const std::vector<float> zeros(33, -0.0f);
  EXPECT_FALSE(std::signbit(AbsMax(zeros.data(), 33)));
  float lo, hi;
  RangeWithZero(zeros.data(), 33, &lo, &hi);
  EXPECT_FALSE(std::signbit(lo));
  EXPECT_FALSE(std::signbit(hi));
  // A NaN in a lane and in the tail is skipped, as std::max skips it.
  std::vector<float> w(35, 0.5f);
  w[3] = std::numeric_limits<float>::quiet_NaN();
  w[34] = std::numeric_limits<float>::quiet_NaN();
  w[20] = -2.0f;
  EXPECT_EQ(AbsMax(w.data(), 35), 2.0f);
  RangeWithZero(w.data(), 35, &lo, &hi);
  EXPECT_EQ(lo, -2.0f);
  EXPECT_EQ(hi, 0.5f);
}

TEST(CheckFiniteTest, NamesTheFirstNanOrInfInAnySpan) {
  std::vector<float> w(3000, 1.0f);
  EXPECT_TRUE(CheckFinite("w", w.data(), 3000).ok());
  for (const size_t at : {size_t{0}, size_t{1023}, size_t{1024}, size_t{2999}}) {
    std::vector<float> bad = w;
    bad[at] = std::numeric_limits<float>::infinity();
    if (at == 1024) bad[2500] = std::numeric_limits<float>::quiet_NaN();  // a later one is not named
    const Status s = CheckFinite("w", bad.data(), 3000);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message(), "weight 'w' holds Inf at element " + std::to_string(at) + "; it cannot be quantized");
  }
  w[1500] = -std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(CheckFinite("w", w.data(), 3000).message(),
            "weight 'w' holds NaN at element 1500; it cannot be quantized");
  // The largest finite float and a denormal pass.
  w[1500] = std::numeric_limits<float>::max();
  w[1501] = std::numeric_limits<float>::denorm_min();
  EXPECT_TRUE(CheckFinite("w", w.data(), 3000).ok());
}

TEST(ErrorSumsTest, LaneSumsEqualTheScalarDefinition) {
  // Lane j sums the pairs i with i % 8 == j in double, from the first pair
  // on; the lanes are added in order 0..7 at the end of each Add.
  for (const int64_t n : {0, 1, 7, 8, 9, 63, 64, 1000}) {
    const std::vector<float> a = RandomFloats(static_cast<size_t>(n), 11), b = RandomFloats(static_cast<size_t>(n), 12);
    ErrorSums sums;
    sums.Add(a.data(), b.data(), n);
    const ErrorMetrics got = sums.Finish();
    double signal[8] = {}, noise[8] = {}, max_abs = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double x = a[static_cast<size_t>(i)], y = b[static_cast<size_t>(i)], d = x - y;
      signal[i % 8] = std::fma(x, x, signal[i % 8]);
      noise[i % 8] = std::fma(d, d, noise[i % 8]);
      max_abs = std::max(max_abs, std::fabs(d));
    }
    double s = 0, e = 0;
    for (int j = 0; j < 8; ++j) {
      s += signal[j];
      e += noise[j];
    }
    EXPECT_EQ(got.max_abs, max_abs) << n;
    if (n == 0) continue;
    // The products may or may not be fused with the sums (the compiler
    // decides for the build), so the check is to a few ulps of the sums.
    EXPECT_NEAR(got.mse, e / static_cast<double>(n), 1e-14 * e / static_cast<double>(n)) << n;
    EXPECT_NEAR(got.sqnr_db, 10.0 * std::log10(s / e), 1e-12) << n;
  }
}

}  // namespace
}  // namespace pq::quant
