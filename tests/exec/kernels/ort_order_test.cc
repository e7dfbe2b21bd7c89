// Tests of src/exec/kernels/sgemm_ort_order.cc and softmax_ort_order.cc: the
// vectorised tiles of SgemmInOrtOrder equal, bit for bit, a plain scalar
// evaluation of the order its header states, for both kinds of B, one row and
// many, k-blocks of every length, at 1 and 2 threads; the k-block rule; and
// the softmax's exp against libm and its rows summing to one. (That these are
// ONNX Runtime's orders is checked against ORT itself by
// tests/interop/float16_matmul_order.py and tiny_llm_pq.py.)
#include "exec/kernels/sgemm_ort_order.h"
#include "exec/kernels/softmax_ort_order.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

namespace pq::exec {
namespace {

// The stated order, one element at a time.
float ReferenceElement(const std::vector<float>& a, const std::vector<float>& b, int64_t i, int64_t j, int64_t m,
                       int64_t n, int64_t k, OrtGemmB kind) {
  if (m == 1 && kind == OrtGemmB::kComputed) {
    float c = 0.0f;
    int64_t p = 0;
    auto prod = [&](int64_t q) {
      volatile float x = a[i * k + q] * b[q * n + j];
      return static_cast<float>(x);
    };
    for (; k - p >= 4; p += 4) {
      volatile float t = prod(p) + prod(p + 1);
      t = t + prod(p + 2);
      t = t + prod(p + 3);
      c = t + c;
    }
    if (k - p >= 2) {
      volatile float t = prod(p) + prod(p + 1);
      c = t + c;
      p += 2;
    }
    if (k - p == 1) c = prod(p) + c;
    return c;
  }
  const int64_t block = OrtGemmKBlock(n, k, kind);
  float c = 0.0f;
  for (int64_t k0 = 0; k0 < k; k0 += block) {
    float acc = 0.0f;
    for (int64_t p = k0; p < std::min(k, k0 + block); ++p) acc = std::fma(a[i * k + p], b[p * n + j], acc);
    volatile float sum = k0 == 0 ? acc : c + acc;
    c = sum;
  }
  return c;
}

TEST(SgemmInOrtOrder, EqualsTheStatedOrderBitForBit) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  const int64_t shapes[][3] = {{1, 352, 128}, {1, 7, 3}, {5, 96, 200}, {64, 352, 128}, {33, 600, 40},
                               {16, 1100, 24}, {9, 2100, 8}, {3, 257, 300}, {4, 0, 5}};
  for (const auto& s : shapes) {
    const int64_t m = s[0], k = s[1], n = s[2];
    std::vector<float> a(static_cast<size_t>(m * k)), b(static_cast<size_t>(k * n));
    for (float& x : a) x = normal(rng);
    for (float& x : b) x = normal(rng);
    for (OrtGemmB kind : {OrtGemmB::kConstant, OrtGemmB::kComputed}) {
      for (int threads : {1, 2}) {
        std::vector<float> c(static_cast<size_t>(m * n), -1.0f);
        SgemmInOrtOrder(m, n, k, a.data(), b.data(), c.data(), kind, threads);
        int differ = 0;
        for (int64_t i = 0; i < m; ++i) {
          for (int64_t j = 0; j < n; ++j) {
            const float want = ReferenceElement(a, b, i, j, m, n, k, kind);
            differ += std::memcmp(&want, &c[static_cast<size_t>(i * n + j)], sizeof(float)) != 0;
          }
        }
        EXPECT_EQ(differ, 0) << m << "x" << k << "x" << n << " constant " << (kind == OrtGemmB::kConstant)
                             << " threads " << threads;
      }
    }
  }
}

TEST(SgemmInOrtOrder, KBlocksFollowMlasStrides) {
  EXPECT_EQ(OrtGemmKBlock(128, 352, OrtGemmB::kConstant), 256);
  EXPECT_EQ(OrtGemmKBlock(8, 2100, OrtGemmB::kConstant), 256);
  EXPECT_EQ(OrtGemmKBlock(128, 352, OrtGemmB::kComputed), 128);
  EXPECT_EQ(OrtGemmKBlock(48, 1100, OrtGemmB::kComputed), 256);
  EXPECT_EQ(OrtGemmKBlock(24, 1100, OrtGemmB::kComputed), 512);
  EXPECT_EQ(OrtGemmKBlock(8, 2100, OrtGemmB::kComputed), 1024);
  EXPECT_GE(OrtGemmKBlock(400, 352, OrtGemmB::kComputed), 352);  // n >= k: one block
}

TEST(SgemmTransposedBInOrtOrder, ScalesEachBlockSum) {
  // k = 300 with n = 2 < k: blocks of 1024, so one chain per element.
  const int64_t m = 2, n = 2, k = 300;
  std::vector<float> a(m * k), b(n * k);
  std::mt19937 rng(3);
  std::normal_distribution<float> normal;
  for (float& x : a) x = normal(rng);
  for (float& x : b) x = normal(rng);
  std::vector<float> c(m * n);
  SgemmTransposedBInOrtOrder(m, n, k, 0.25f, a.data(), b.data(), c.data());
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < k; ++p) acc = std::fma(a[i * k + p], b[j * k + p], acc);
      EXPECT_EQ(c[i * n + j], acc * 0.25f);
    }
  }
}

TEST(SoftmaxInOrtOrder, ExpIsCloseToLibmAndRowsSumToOne) {
  for (float x = -88.0f; x <= 0.0f; x += 0.0137f) {
    const float want = std::exp(x);
    EXPECT_NEAR(OrtSoftmaxExp(x), want, 4e-7f * want) << x;
  }
  EXPECT_EQ(OrtSoftmaxExp(0.0f), 1.0f);
  EXPECT_EQ(OrtSoftmaxExp(-1000.0f), OrtSoftmaxExp(-88.3762626647949f));  // clamped
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 4.0f);
  for (int n : {1, 3, 16, 17, 64, 100}) {
    std::vector<float> row(static_cast<size_t>(n));
    for (float& x : row) x = normal(rng);
    SoftmaxInOrtOrder(row.data(), n);
    double sum = 0;
    for (float p : row) {
      EXPECT_GE(p, 0.0f);
      sum += p;
    }
    EXPECT_NEAR(sum, 1.0, 1e-6) << n;
  }
}

}  // namespace
}  // namespace pq::exec
