#include "calib/histogram.h"

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace pq::calib {
namespace {

constexpr int kBins = 2048;

// Fixed-seed values whose scale grows along the vector, so that observing it
// in pieces makes the histogram's range grow several times.
std::vector<float> GrowingData(int n) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    v[static_cast<size_t>(i)] = normal(rng) * std::ldexp(1.0f, i * 12 / n - 4);
  }
  return v;
}

void ExpectSameHistogram(const Histogram& a, const Histogram& b) {
  EXPECT_EQ(a.exponent(), b.exponent());
  EXPECT_EQ(a.positive(), b.positive());
  EXPECT_EQ(a.negative(), b.negative());
  EXPECT_EQ(a.stats().count(), b.stats().count());
  EXPECT_EQ(a.stats().zeros(), b.stats().zeros());
  EXPECT_EQ(a.stats().min(), b.stats().min());
  EXPECT_EQ(a.stats().max(), b.stats().max());
}

TEST(CalibHistogram, TwoHalvesGiveExactlyTheOnePassHistogram) {
  const std::vector<float> data = GrowingData(100000);
  Histogram whole(kBins);
  whole.Add(data.data(), static_cast<int64_t>(data.size()));
  Histogram halves(kBins);
  const int64_t half = static_cast<int64_t>(data.size()) / 2;
  halves.Add(data.data(), half);
  halves.Add(data.data() + half, static_cast<int64_t>(data.size()) - half);
  ExpectSameHistogram(whole, halves);
  // The second half (larger values) grew the range: this was a real merge.
  Histogram first_half(kBins);
  first_half.Add(data.data(), half);
  EXPECT_LT(first_half.exponent(), whole.exponent());
}

TEST(CalibHistogram, AnySplitAndOrderGivesTheSameHistogram) {
  std::vector<float> data = GrowingData(30000);
  data[100] = 0.0f;
  data[200] = -0.0f;
  Histogram whole(kBins);
  whole.Add(data.data(), static_cast<int64_t>(data.size()));
  // Largest values first, then small uneven pieces.
  Histogram pieces(kBins);
  const int64_t n = static_cast<int64_t>(data.size());
  pieces.Add(data.data() + n - 7, 7);
  for (int64_t first = 0; first < n - 7; first += 997) {
    pieces.Add(data.data() + first, std::min<int64_t>(997, n - 7 - first));
  }
  ExpectSameHistogram(whole, pieces);
}

TEST(CalibHistogram, AllZeroBlockDoesNotWidenTheRange) {
  const std::vector<float> zeros(1000, 0.0f);
  const std::vector<float> tiny = {1e-6f, -3e-6f, 2.5e-6f};
  Histogram a(kBins);
  a.Add(zeros.data(), 1000);
  a.Add(tiny.data(), 3);
  Histogram b(kBins);
  b.Add(tiny.data(), 3);
  b.Add(zeros.data(), 1000);
  ExpectSameHistogram(a, b);
  EXPECT_LT(a.exponent(), -15);  // 3e-6 < 2^-18
  EXPECT_EQ(a.stats().zeros(), 1000);
  EXPECT_EQ(a.positive()[0], 1000);
}

TEST(CalibHistogram, RangeIsTheSmallestPowerOfTwoAboveMaxAbs) {
  const std::vector<float> data = {0.5f, -3.0f, 1.0f};
  Histogram h(kBins);
  h.Add(data.data(), 3);
  EXPECT_EQ(h.exponent(), 2);  // 2 <= 3 < 4
  EXPECT_DOUBLE_EQ(h.bin_width(), 4.0 / kBins);
  EXPECT_EQ(h.positive()[kBins / 8], 1);  // 0.5 / (4 / 2048)
  EXPECT_EQ(h.positive()[kBins / 4], 1);
  EXPECT_EQ(h.negative()[3 * kBins / 4], 1);
}

TEST(CalibHistogram, NanAndInfAreCountedButNotBinned) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  const std::vector<float> data = {1.0f, std::nanf(""), kInf, -kInf, -2.0f, std::nanf("")};
  Histogram h(kBins);
  h.Add(data.data(), static_cast<int64_t>(data.size()));
  EXPECT_EQ(h.stats().count(), 6);
  EXPECT_EQ(h.stats().nan(), 2);
  EXPECT_EQ(h.stats().inf(), 2);
  EXPECT_EQ(h.stats().finite(), 2);
  EXPECT_EQ(h.stats().min(), -2.0f);
  EXPECT_EQ(h.stats().max(), 1.0f);
  EXPECT_EQ(h.exponent(), 2);
  int64_t binned = 0;
  for (int i = 0; i < kBins; ++i) binned += h.positive()[i] + h.negative()[i];
  EXPECT_EQ(binned, 2);
}

TEST(CalibHistogram, ExtremeFloatsStayInRange) {
  const std::vector<float> data = {std::numeric_limits<float>::max(),
                                   -std::numeric_limits<float>::max(),
                                   std::numeric_limits<float>::denorm_min()};
  Histogram h(kBins);
  h.Add(data.data(), 3);
  EXPECT_EQ(h.exponent(), Histogram::kMaxExponent);
  EXPECT_EQ(h.positive()[kBins - 1], 1);
  EXPECT_EQ(h.negative()[kBins - 1], 1);
  EXPECT_EQ(h.positive()[0], 1);
}

}  // namespace
}  // namespace pq::calib
