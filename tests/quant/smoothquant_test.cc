// SmoothQuant's numbers (src/quant/smoothquant.cc) on hand-checked values,
// and its observer (channel_max_collector.cc). The exact-only fold it uses is
// tested with the fold, in awq_test.cc.
#include <gtest/gtest.h>

#include <cmath>

#include "exec/kernel_test_util.h"
#include "quant/channel_max_collector.h"
#include "quant/smoothquant.h"

namespace pq::quant {
namespace {

TEST(SmoothQuantScalesTest, HandCheckedValues) {
  const std::vector<float> act = {4.0f, 1.0f, 0.0f, 9.0f, 16.0f};
  const std::vector<float> w = {1.0f, 4.0f, 2.0f, 1e-7f, 0.25f};
  const std::vector<float> half = SmoothQuantScales(act, w, 0.5);
  EXPECT_FLOAT_EQ(half[0], 2.0f);    // sqrt(4) / sqrt(1)
  EXPECT_FLOAT_EQ(half[1], 0.5f);    // sqrt(1) / sqrt(4)
  EXPECT_FLOAT_EQ(half[2], 1.0f);    // dead activation channel: unscaled
  EXPECT_FLOAT_EQ(half[3], 1.0f);    // weight below kSmoothQuantMinMagnitude: unscaled
  EXPECT_FLOAT_EQ(half[4], 8.0f);    // sqrt(16) / sqrt(0.25)
  const std::vector<float> one = SmoothQuantScales(act, w, 1.0);
  EXPECT_FLOAT_EQ(one[0], 4.0f);     // alpha 1: s = max|X|
  EXPECT_FLOAT_EQ(one[4], 16.0f);
  const std::vector<float> zero = SmoothQuantScales(act, w, 0.0);
  EXPECT_FLOAT_EQ(zero[1], 0.25f);   // alpha 0: s = 1 / max|W|
  EXPECT_FLOAT_EQ(zero[4], 4.0f);
  // After smoothing with alpha 0.5, max|X_j / s_j| = max|W_j s_j| wherever s_j != 1.
  for (size_t j : {0u, 1u, 4u}) EXPECT_FLOAT_EQ(act[j] / half[j], w[j] * half[j]);
}

TEST(SmoothQuantScalesTest, InputFeatureMaxOfBothLayouts) {
  // K = 2, N = 3: as [K, N] row j is feature j; as [N, K] column j is.
  const std::vector<float> w = {1, -5, 2, 3, 0.5f, -4};
  std::vector<float> kn(2, 0.0f), nk(2, 0.0f);
  AccumulateInputFeatureMax(w, 2, true, &kn);
  AccumulateInputFeatureMax(w, 2, false, &nk);
  EXPECT_EQ(kn, (std::vector<float>{5, 4}));
  EXPECT_EQ(nk, (std::vector<float>{2, 5}));  // columns {1, 2, 0.5} and {-5, 3, -4}
  std::vector<float> more = {6, 0};
  AccumulateInputFeatureMax(w, 2, true, &more);  // accumulates over weights
  EXPECT_EQ(more, (std::vector<float>{6, 4}));
}

TEST(ChannelMaxCollectorTest, MaxOverEveryRowOfEveryRun) {
  ChannelMaxCollector c({{"A", 3}});
  c.OnTensor("A", testing::Floats({2, 3}, {1, -7, 2, -3, 0.5f, 1}));
  EXPECT_TRUE(c.Missing().empty());
  c.OnTensor("A", testing::Floats({1, 1, 3}, {0, 2, -9}));
  c.OnTensor("B", testing::Floats({1}, {100}));  // not wanted
  Result<std::map<std::string, std::vector<float>>> r = c.Results();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->at("A"), (std::vector<float>{3, 7, 9}));
}

TEST(ChannelMaxCollectorTest, WrongLayoutOrNeverSeenNamesTheTensor) {
  ChannelMaxCollector wrong({{"A", 3}});
  wrong.OnTensor("A", testing::Floats({3, 2}, {1, 2, 3, 4, 5, 6}));
  ASSERT_FALSE(wrong.Results().ok());
  EXPECT_NE(wrong.Results().status().message().find("'A'"), std::string::npos);
  ChannelMaxCollector missing({{"B", 2}});
  EXPECT_EQ(missing.Missing(), std::vector<std::string>{"B"});
  EXPECT_NE(missing.Results().status().message().find("'B'"), std::string::npos);
}

}  // namespace
}  // namespace pq::quant
