// Tests of src/exec/kernels/rotary_embedding.cc: com.microsoft
// RotaryEmbedding and ai.onnx RotaryEmbedding-23 against a naive reference
// (each rotated pair as a complex multiplication), hand-computed quarter
// turns, partial rotation, the position forms and refused inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq {
namespace {

using testing::Floats;
using testing::Int64s;
using testing::MakeNode;
using testing::OneNodeCase;
using testing::RunOneNode;
using testing::SetAttr;
using testing::Values;

constexpr double kTolerance = 1e-5;

Tensor Wave(std::vector<int64_t> shape, float step, float phase) {
  Tensor t = Tensor::Allocate(kFloat, std::move(shape)).value();
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = std::sin(step * i + phase);
  return t;
}

// cos/sin caches [rows, half] of angle pos * 0.3 * (i + 1).
void Caches(int64_t rows, int64_t half, Tensor* cos, Tensor* sin) {
  *cos = Tensor::Allocate(kFloat, {rows, half}).value();
  *sin = Tensor::Allocate(kFloat, {rows, half}).value();
  for (int64_t p = 0; p < rows; ++p) {
    for (int64_t i = 0; i < half; ++i) {
      cos->data<float>()[p * half + i] = std::cos(0.3f * p * (i + 1));
      sin->data<float>()[p * half + i] = std::sin(0.3f * p * (i + 1));
    }
  }
}

// Naive RoPE of x [B, S, N, H] (token-major): pair i of head vector v at
// position p is (v[a], v[b]) -> (v[a] + i v[b]) * e^{i angle(p, i)}.
std::vector<double> Reference(const std::vector<double>& x, int64_t batch, int64_t seq,
                              int64_t heads, int64_t head_size, int64_t rotary_dim,
                              bool interleaved, const std::vector<int64_t>& positions) {
  std::vector<double> y = x;
  const int64_t half = rotary_dim / 2;
  for (int64_t t = 0; t < batch * seq; ++t) {
    for (int64_t n = 0; n < heads; ++n) {
      const int64_t base = (t * heads + n) * head_size;
      for (int64_t i = 0; i < half; ++i) {
        const int64_t a = interleaved ? 2 * i : i, b = interleaved ? 2 * i + 1 : i + half;
        const double angle = 0.3 * static_cast<double>(positions[t]) * static_cast<double>(i + 1);
        const std::complex<double> r =
            std::complex<double>(x[base + a], x[base + b]) * std::polar(1.0, angle);
        y[base + a] = r.real();
        y[base + b] = r.imag();
      }
    }
  }
  return y;
}

// Transposes [B, A, C, H] <-> [B, C, A, H].
std::vector<double> SwapMiddle(const std::vector<double>& x, int64_t b, int64_t a, int64_t c,
                               int64_t h) {
  std::vector<double> y(x.size());
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < a; ++j)
      for (int64_t k = 0; k < c; ++k)
        for (int64_t e = 0; e < h; ++e)
          y[((i * c + k) * a + j) * h + e] = x[((i * a + j) * c + k) * h + e];
  return y;
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], kTolerance) << "element " << i;
}

OneNodeCase Contrib(Tensor x, Tensor positions, int64_t cache_rows, int64_t half) {
  OneNodeCase c;
  c.node = MakeNode("RotaryEmbedding", {"x", "pos", "cos", "sin"}, {"y"}, "com.microsoft");
  Tensor cos, sin;
  Caches(cache_rows, half, &cos, &sin);
  c.inputs = {{"x", std::move(x)}};
  c.constants = {{"pos", std::move(positions)}, {"cos", cos}, {"sin", sin}};
  return c;
}

void ExpectError(const OneNodeCase& c, const std::string& fragment) {
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find(c.node.name()), std::string::npos)
      << out.status().ToString();
  EXPECT_NE(out.status().message().find(fragment), std::string::npos) << out.status().ToString();
}

TEST(RotaryEmbeddingTest, QuarterTurnRotatesHalvesByHand) {
  // One head of 4 at position p with angle 0.3 p (i + 1); choose cache rows
  // by hand instead: row 0 is a quarter turn for pair 0, a half turn for pair 1.
  OneNodeCase c;
  c.node = MakeNode("RotaryEmbedding", {"x", "pos", "cos", "sin"}, {"y"}, "com.microsoft");
  c.inputs = {{"x", Floats({1, 1, 4}, {1, 2, 3, 4})}};
  c.constants = {{"pos", Int64s({1, 1}, {0})},
                 {"cos", Floats({1, 2}, {0, -1})},
                 {"sin", Floats({1, 2}, {1, 0})}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // Pairs (1, 3) and (2, 4): (1 + 3i) * i = -3 + i; (2 + 4i) * -1 = -2 - 4i.
  ExpectNear(Values((*out)[0]), {-3, -2, 1, -4});
  // Interleaved pairs (1, 2) and (3, 4): (1 + 2i) * i = -2 + i; (3 + 4i) * -1.
  SetAttr(&c.node, "interleaved", int64_t{1});
  out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectNear(Values((*out)[0]), {-2, 1, -3, -4});
}

TEST(RotaryEmbeddingTest, ContribTokenPositionsMatchReference) {
  const int64_t b = 2, s = 3, n = 2, h = 8;
  const Tensor x = Wave({b, s, n * h}, 0.7f, 0.2f);
  const std::vector<int64_t> pos = {4, 0, 9, 1, 1, 7};
  for (int64_t interleaved : {0, 1}) {
    OneNodeCase c = Contrib(x, Int64s({b, s}, pos), 10, h / 2);
    SetAttr(&c.node, "interleaved", interleaved);
    auto out = RunOneNode(c);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ExpectNear(Values((*out)[0]), Reference(Values(x), b, s, n, h, h, interleaved != 0, pos));
  }
}

TEST(RotaryEmbeddingTest, ContribPartialRotationCopiesTheTail) {
  const int64_t b = 1, s = 2, n = 3, h = 8, r = 4;
  const Tensor x = Wave({b, s, n * h}, 0.3f, 0.9f);
  OneNodeCase c = Contrib(x, Int64s({b, s}, {2, 5}), 6, r / 2);
  SetAttr(&c.node, "rotary_embedding_dim", r);
  SetAttr(&c.node, "num_heads", n);
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectNear(Values((*out)[0]), Reference(Values(x), b, s, n, h, r, false, {2, 5}));
}

TEST(RotaryEmbeddingTest, ContribScalarOffsetAndHeadMajorInput) {
  const int64_t b = 2, s = 3, n = 2, h = 4;
  const Tensor x = Wave({b, n, s, h}, 0.5f, 0.1f);  // [B, N, S, H]
  auto out = RunOneNode(Contrib(x, Int64s({1}, {2}), 8, h / 2));
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::vector<double> token_major = SwapMiddle(Values(x), b, n, s, h);
  const std::vector<double> want = Reference(token_major, b, s, n, h, h, false, {2, 3, 4, 2, 3, 4});
  ExpectNear(Values((*out)[0]), SwapMiddle(want, b, s, n, h));
}

TEST(RotaryEmbeddingTest, Opset23WithAndWithoutPositionIds) {
  const int64_t b = 1, s = 3, n = 2, h = 4;
  const Tensor x = Wave({b, s, n * h}, 0.4f, 0.3f);
  Tensor cos, sin;
  Caches(6, h / 2, &cos, &sin);
  OneNodeCase c;
  c.node = MakeNode("RotaryEmbedding", {"x", "cos", "sin", "pos"}, {"y"});
  SetAttr(&c.node, "num_heads", n);
  c.opset = 23;
  c.inputs = {{"x", x}};
  c.constants = {{"cos", cos}, {"sin", sin}, {"pos", Int64s({b, s}, {5, 0, 3})}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::vector<double> want = Reference(Values(x), b, s, n, h, h, false, {5, 0, 3});
  ExpectNear(Values((*out)[0]), want);
  // Without position_ids the caches are per token: rows 5, 0, 3 gathered.
  Tensor cos3 = Tensor::Allocate(kFloat, {b, s, h / 2}).value();
  Tensor sin3 = Tensor::Allocate(kFloat, {b, s, h / 2}).value();
  const int64_t rows[] = {5, 0, 3};
  for (int64_t t = 0; t < s; ++t) {
    for (int64_t i = 0; i < h / 2; ++i) {
      cos3.data<float>()[t * 2 + i] = cos.data<float>()[rows[t] * 2 + i];
      sin3.data<float>()[t * 2 + i] = sin.data<float>()[rows[t] * 2 + i];
    }
  }
  c.node = MakeNode("RotaryEmbedding", {"x", "cos", "sin"}, {"y"});
  SetAttr(&c.node, "num_heads", n);
  c.constants = {{"cos", cos3}, {"sin", sin3}};
  out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectNear(Values((*out)[0]), want);
}

TEST(RotaryEmbeddingTest, RefusesBadInputsNamingTheNode) {
  const Tensor x = Wave({1, 2, 8}, 0.5f, 0.0f);
  ExpectError(Contrib(x, Int64s({1, 2}, {0, 6}), 6, 4), "position 6 (token 1) is outside");
  ExpectError(Contrib(x, Int64s({1, 3}, {0, 1, 2}), 6, 4), "position_ids");
  ExpectError(Contrib(Wave({2, 8}, 0.5f, 0.0f), Int64s({1}, {0}), 6, 4),
              "expected [batch, sequence");
  OneNodeCase no_heads = Contrib(x, Int64s({1}, {0}), 6, 2);
  SetAttr(&no_heads.node, "rotary_embedding_dim", int64_t{4});
  ExpectError(no_heads, "num_heads must be given");
  OneNodeCase wide = Contrib(x, Int64s({1}, {0}), 6, 3);
  SetAttr(&wide.node, "num_heads", int64_t{2});
  ExpectError(wide, "rows hold 3 values");
  OneNodeCase two_outputs = Contrib(x, Int64s({1}, {0}), 6, 4);
  two_outputs.node.add_output("y2");
  ExpectError(two_outputs, "lists 2 outputs, the op has at most 1");
  OneNodeCase packed = Contrib(x, Int64s({1}, {0}), 6, 4);
  SetAttr(&packed.node, "is_packed_batching", int64_t{1});
  auto out = RunOneNode(packed);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kNotSupported);
}

}  // namespace
}  // namespace pq
