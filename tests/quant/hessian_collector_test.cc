// Direct tests of src/quant/hessian_collector.cc: X^T X summed over every
// row of every observed tensor (N-D inputs flattened to [rows, K], Gemm
// transA inputs transposed) equals a plain double sum, is the same for any
// thread count, merges shard by shard, and an input that never came or
// came with the wrong K is an error naming it.
#include "quant/hessian_collector.h"

#include <gtest/gtest.h>

#include <random>

#include "pq/data_type.h"
#include "pq/tensor.h"

namespace pq::quant {
namespace {

// K larger than one tile, not a multiple of it.
constexpr int64_t kK = 150;
constexpr double kTolerance = 1e-9;

Tensor RandomTensor(const std::vector<int64_t>& shape, uint32_t seed) {
  Tensor t = Tensor::Allocate(kFloat, shape).value();
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  float* data = t.data<float>();
  for (int64_t i = 0; i < t.size(); ++i) data[i] = dist(rng);
  return t;
}

// X^T X of row-major [rows, k] values, summed plainly.
Eigen::MatrixXd PlainXtx(const float* x, int64_t rows, int64_t k) {
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(k, k);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < k; ++i) {
      for (int64_t j = 0; j < k; ++j) h(i, j) += double{x[r * k + i]} * double{x[r * k + j]};
    }
  }
  return h;
}

TEST(HessianCollectorTest, SumsXtxOverEveryRowOfEveryRun) {
  HessianCollector collector({{"x", false, kK}}, 0);
  const Tensor a = RandomTensor({2, 3, kK}, 1);  // 6 rows
  const Tensor b = RandomTensor({1, 5, kK}, 2);  // 5 rows
  collector.OnTensor("x", a);
  collector.OnTensor("unrelated", b);
  collector.OnTensor("x", b);
  Result<std::map<HessianInput, InputHessian>> h = collector.Results();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const InputHessian& got = h->at({"x", false, kK});
  EXPECT_EQ(got.rows, 11);
  const Eigen::MatrixXd want = PlainXtx(a.data<float>(), 6, kK) + PlainXtx(b.data<float>(), 5, kK);
  EXPECT_LE((got.xtx - want).cwiseAbs().maxCoeff(), kTolerance * want.cwiseAbs().maxCoeff());
  EXPECT_EQ(got.xtx, got.xtx.transpose());
}

TEST(HessianCollectorTest, TransposedInputIsReadAsItsColumns) {
  constexpr int64_t kM = 7;
  HessianCollector collector({{"at", true, kK}}, 0);
  const Tensor a = RandomTensor({kK, kM}, 3);  // Gemm transA=1: A is [K, M]
  collector.OnTensor("at", a);
  std::vector<float> x(static_cast<size_t>(kM * kK));  // A^T, [M, K]
  for (int64_t m = 0; m < kM; ++m) {
    for (int64_t c = 0; c < kK; ++c) x[static_cast<size_t>(m * kK + c)] = a.data<float>()[c * kM + m];
  }
  Result<std::map<HessianInput, InputHessian>> h = collector.Results();
  ASSERT_TRUE(h.ok());
  const InputHessian& got = h->at({"at", true, kK});
  EXPECT_EQ(got.rows, kM);
  const Eigen::MatrixXd want = PlainXtx(x.data(), kM, kK);
  EXPECT_LE((got.xtx - want).cwiseAbs().maxCoeff(), kTolerance * want.cwiseAbs().maxCoeff());
}

TEST(HessianCollectorTest, SameSumsForEveryThreadCountAndShardsMerge) {
  const Tensor a = RandomTensor({3000, kK}, 4);  // more rows than one conversion chunk
  const Tensor b = RandomTensor({40, kK}, 5);
  HessianCollector one({{"x", false, kK}}, 1), four({{"x", false, kK}}, 4);
  for (HessianCollector* c : {&one, &four}) {
    c->OnTensor("x", a);
    c->OnTensor("x", b);
  }
  const InputHessian h1 = one.Results().value().at({"x", false, kK});
  const InputHessian h4 = four.Results().value().at({"x", false, kK});
  EXPECT_EQ(h1.xtx, h4.xtx);
  // Two shards merged equal (to rounding) one pass over both.
  HessianCollector first({{"x", false, kK}}, 0), second({{"x", false, kK}}, 0);
  first.OnTensor("x", a);
  second.OnTensor("x", b);
  InputHessian merged = first.Results().value().at({"x", false, kK});
  merged.Merge(second.Results().value().at({"x", false, kK}));
  EXPECT_EQ(merged.rows, h1.rows);
  EXPECT_LE((merged.xtx - h1.xtx).cwiseAbs().maxCoeff(), kTolerance * h1.xtx.cwiseAbs().maxCoeff());
}

TEST(HessianCollectorTest, MissingOrMisshapenInputsAreErrorsNamingThem) {
  HessianCollector collector({{"x", false, kK}, {"never", false, 4}}, 0);
  collector.OnTensor("x", RandomTensor({2, kK}, 6));
  EXPECT_EQ(collector.Missing(), std::vector<std::string>{"never"});
  Result<std::map<HessianInput, InputHessian>> h = collector.Results();
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(h.status().message().find("'never'"), std::string::npos) << h.status().message();

  HessianCollector wrong({{"x", false, kK}}, 0);
  wrong.OnTensor("x", RandomTensor({2, kK + 1}, 7));
  h = wrong.Results();
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("'x'"), std::string::npos) << h.status().message();
  EXPECT_NE(h.status().message().find("K = 150"), std::string::npos) << h.status().message();
}

}  // namespace
}  // namespace pq::quant
