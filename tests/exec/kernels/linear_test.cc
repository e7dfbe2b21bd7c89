// Tests of src/exec/kernels/linear.cc (beyond ONNX's conformance cases):
// MatMul (the constant 2-D weight path, batched with broadcast batch dims,
// 1-D operands, integer types) and Gemm (transA/transB, alpha/beta, every
// broadcast form of C) and ConvTranspose (1-D, 2-D, 3-D) against naive
// double references, and refused shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq {
namespace {

using testing::Floats;
using testing::MakeNode;
using testing::OneNodeCase;
using testing::RunOneNode;
using testing::SetAttr;
using testing::Values;

// |pq - reference| <= kProductTolerance * max(1, max |reference|) (float GEMM
// vs double sums over at most a few dozen terms).
constexpr double kProductTolerance = 1e-5;

// Deterministic, non-trivial float data.
Tensor Wave(std::vector<int64_t> shape, float step, float phase) {
  Tensor t = Tensor::Allocate(kFloat, std::move(shape)).value();
  for (int64_t i = 0; i < t.size(); ++i) {
    t.data<float>()[i] = std::sin(step * static_cast<float>(i) + phase);
  }
  return t;
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  double scale = 1.0;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], kProductTolerance * scale) << "element " << i;
  }
}

// numpy.matmul of A [batch_a..., M, K] and B [batch_b..., K, N] with 2-D or
// higher operands, in double; batch dims broadcast.
std::vector<double> ReferenceMatMul(const Tensor& a, const Tensor& b, std::vector<int64_t>* shape) {
  const std::vector<int64_t>& as = a.shape();
  const std::vector<int64_t>& bs = b.shape();
  const int64_t m = as[as.size() - 2], k = as.back(), n = bs.back();
  const size_t rank = std::max(as.size(), bs.size());
  std::vector<int64_t> a_batch(rank - 2, 1), b_batch(rank - 2, 1), batch(rank - 2);
  std::copy(as.begin(), as.end() - 2, a_batch.end() - static_cast<int64_t>(as.size() - 2));
  std::copy(bs.begin(), bs.end() - 2, b_batch.end() - static_cast<int64_t>(bs.size() - 2));
  int64_t count = 1;
  for (size_t d = 0; d < batch.size(); ++d) {
    batch[d] = std::max(a_batch[d], b_batch[d]);
    count *= batch[d];
  }
  *shape = batch;
  shape->push_back(m);
  shape->push_back(n);
  std::vector<double> y;
  for (int64_t o = 0; o < count; ++o) {
    int64_t ia = 0, ib = 0, rest = o, stride = count;
    for (size_t d = 0; d < batch.size(); ++d) {
      stride /= batch[d];
      const int64_t idx = rest / stride;
      rest %= stride;
      ia = ia * a_batch[d] + (a_batch[d] == 1 ? 0 : idx);
      ib = ib * b_batch[d] + (b_batch[d] == 1 ? 0 : idx);
    }
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t p = 0; p < k; ++p) {
          sum += static_cast<double>(a.data<float>()[(ia * m + i) * k + p]) *
                 b.data<float>()[(ib * k + p) * n + j];
        }
        y.push_back(sum);
      }
    }
  }
  return y;
}

Result<std::vector<Tensor>> RunMatMul(const Tensor& a, const Tensor& b, bool b_constant) {
  OneNodeCase c;
  c.node = MakeNode("MatMul", {"A", "B"}, {"Y"});
  c.inputs = {{"A", a}};
  if (b_constant) {
    c.constants = {{"B", b}};
  } else {
    c.inputs["B"] = b;
  }
  return RunOneNode(c);
}

TEST(LinearTest, MatMulWithConstantWeightFoldsBatchIntoRows) {
  const Tensor a = Wave({2, 3, 5}, 0.37f, 0.1f), b = Wave({5, 4}, 0.23f, 0.7f);
  auto out = RunMatMul(a, b, /*b_constant=*/true);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<int64_t> shape;
  const std::vector<double> want = ReferenceMatMul(a, b, &shape);
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 3, 4}));
  ExpectNear(Values(out.value()[0]), want);
}

TEST(LinearTest, BatchedMatMulBroadcastsBatchDims) {
  const Tensor a = Wave({2, 1, 3, 4}, 0.41f, 0.2f), b = Wave({3, 4, 5}, 0.19f, 1.1f);
  auto out = RunMatMul(a, b, /*b_constant=*/false);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<int64_t> shape;
  const std::vector<double> want = ReferenceMatMul(a, b, &shape);
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 3, 3, 5}));
  EXPECT_EQ(shape, out.value()[0].shape());
  ExpectNear(Values(out.value()[0]), want);
}

TEST(LinearTest, MatMulOfOneDimensionalOperandsDropsTheirDim) {
  // [3] x [3, 2] -> [2] and [2, 3] x [3] -> [2], by hand.
  auto row = RunMatMul(Floats({3}, {1, 2, 3}), Floats({3, 2}, {1, 0, 0, 1, 1, 1}), true);
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  EXPECT_EQ(row.value()[0].shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(Values(row.value()[0]), (std::vector<double>{4, 5}));
  auto col = RunMatMul(Floats({2, 3}, {1, 2, 3, 4, 5, 6}), Floats({3}, {1, 0, -1}), false);
  ASSERT_TRUE(col.ok()) << col.status().ToString();
  EXPECT_EQ(col.value()[0].shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(Values(col.value()[0]), (std::vector<double>{-2, -2}));
}

TEST(LinearTest, IntegerMatMulIsExact) {
  const Tensor a = testing::Int64s({2, 2, 3}, {1, -2, 3, 4, 5, -6, 7, 8, 9, -1, 0, 2});
  const Tensor b = testing::Int64s({3, 2}, {3, 1, -1, 2, 4, -5});
  auto out = RunMatMul(a, b, false);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].dtype(), kInt64);
  // Row by row: [1,-2,3], [4,5,-6], [7,8,9], [-1,0,2] times B.
  EXPECT_EQ(Values(out.value()[0]),
            (std::vector<double>{17, -18, -17, 44, 49, -22, 5, -11}));
}

TEST(LinearTest, MatMulWithMismatchedInnerDimsIsAnErrorNamingTheNode) {
  auto out = RunMatMul(Floats({2, 3}, {}), Floats({4, 2}, {}), true);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  const std::string& msg = out.status().message();
  EXPECT_NE(msg.find("MatMul_node"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4, 2]"), std::string::npos) << msg;
}

struct GemmCase {
  bool trans_a, trans_b;
  float alpha, beta;
  std::vector<int64_t> c_shape;  // empty vector with has_c = false: no C
  bool has_c;
};

// Y = alpha * op(A) op(B) + beta * C, in double. A is stored [M, K] or, with
// trans_a, [K, M]; B [K, N] or [N, K]; C broadcasts to [M, N].
std::vector<double> ReferenceGemm(const GemmCase& g, const Tensor& a, const Tensor& b,
                                  const Tensor* c, int64_t m, int64_t k, int64_t n) {
  std::vector<double> y;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0;
      for (int64_t p = 0; p < k; ++p) {
        const float av = g.trans_a ? a.data<float>()[p * m + i] : a.data<float>()[i * k + p];
        const float bv = g.trans_b ? b.data<float>()[j * k + p] : b.data<float>()[p * n + j];
        sum += static_cast<double>(av) * bv;
      }
      double cv = 0;
      if (c != nullptr) {
        const std::vector<int64_t>& cs = c->shape();
        const int64_t ci = cs.size() == 2 ? (cs[0] == 1 ? 0 : i) : 0;
        const int64_t cj = cs.empty() ? 0 : (cs.back() == 1 ? 0 : j);
        cv = c->data<float>()[ci * (cs.empty() ? 1 : cs.back()) + cj];
      }
      y.push_back(g.alpha * sum + g.beta * cv);
    }
  }
  return y;
}

TEST(LinearTest, GemmMatchesReferenceForEveryTransposeAndBiasForm) {
  constexpr int64_t kM = 3, kK = 5, kN = 4;
  const std::vector<GemmCase> cases = {
      {false, false, 1.0f, 1.0f, {kM, kN}, true},
      {false, true, 0.5f, 2.0f, {kN}, true},       // bias per column
      {true, false, -1.5f, 0.25f, {kM, 1}, true},  // bias per row
      {true, true, 2.0f, -1.0f, {}, true},         // scalar C
      {false, true, 1.0f, 0.0f, {kM, kN}, true},   // beta 0: C ignored
      {true, false, 0.75f, 1.0f, {}, false},       // no C
  };
  for (const GemmCase& g : cases) {
    SCOPED_TRACE(::testing::Message() << "transA=" << g.trans_a << " transB=" << g.trans_b
                                      << " alpha=" << g.alpha << " beta=" << g.beta
                                      << " C rank=" << g.c_shape.size() << " has C=" << g.has_c);
    const Tensor a = Wave(g.trans_a ? std::vector<int64_t>{kK, kM} : std::vector<int64_t>{kM, kK},
                          0.31f, 0.4f);
    const Tensor b = Wave(g.trans_b ? std::vector<int64_t>{kN, kK} : std::vector<int64_t>{kK, kN},
                          0.27f, 1.3f);
    const Tensor c = Wave(g.c_shape, 0.9f, 0.5f);
    OneNodeCase one;
    one.node = MakeNode("Gemm", g.has_c ? std::vector<std::string>{"A", "B", "C"}
                                        : std::vector<std::string>{"A", "B"},
                        {"Y"});
    SetAttr(&one.node, "transA", static_cast<int64_t>(g.trans_a));
    SetAttr(&one.node, "transB", static_cast<int64_t>(g.trans_b));
    SetAttr(&one.node, "alpha", g.alpha);
    SetAttr(&one.node, "beta", g.beta);
    one.inputs = {{"A", a}};
    one.constants = {{"B", b}};
    if (g.has_c) one.constants["C"] = c;
    auto out = RunOneNode(one);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{kM, kN}));
    ExpectNear(Values(out.value()[0]), ReferenceGemm(g, a, b, g.has_c ? &c : nullptr, kM, kK, kN));
  }
}

TEST(LinearTest, GemmRefusesThreeDimensionalAAndUnbroadcastableC) {
  OneNodeCase rank3;
  rank3.node = MakeNode("Gemm", {"A", "B"}, {"Y"});
  rank3.inputs = {{"A", Floats({2, 3, 4}, {})}};
  rank3.constants = {{"B", Floats({4, 2}, {})}};
  auto out = RunOneNode(rank3);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("Gemm_node"), std::string::npos) << out.status().message();

  OneNodeCase bad_c;
  bad_c.node = MakeNode("Gemm", {"A", "B", "C"}, {"Y"});
  bad_c.inputs = {{"A", Floats({2, 3}, {})}};
  bad_c.constants = {{"B", Floats({3, 4}, {})}, {"C", Floats({3}, {})}};
  out = RunOneNode(bad_c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  const std::string& msg = out.status().message();
  EXPECT_NE(msg.find("Gemm_node"), std::string::npos) << msg;
  EXPECT_NE(msg.find("C [3] does not broadcast to [2, 4]"), std::string::npos) << msg;
}

struct ConvTransposeCase {
  std::vector<int64_t> x_shape, w_shape;  // W: [C, M / group, kernel...]
  int64_t group;
  std::vector<int64_t> strides, pads, dilations, output_padding;  // per spatial axis
};

// Advances `index` over `dims` in row-major order; false after the last one.
bool NextIndex(const std::vector<int64_t>& dims, std::vector<int64_t>* index) {
  for (size_t d = dims.size(); d-- > 0;) {
    if (++(*index)[d] < dims[d]) return true;
    (*index)[d] = 0;
  }
  return false;
}

// The ONNX ConvTranspose definition as a scatter: every input element times
// every tap lands on output h*s - pad + k*d; in double.
std::vector<double> ReferenceConvTranspose(const ConvTransposeCase& c, const Tensor& x,
                                           const Tensor& w, const Tensor& b,
                                           std::vector<int64_t>* out_shape) {
  const size_t rank = c.x_shape.size() - 2;
  const std::vector<int64_t> in(c.x_shape.begin() + 2, c.x_shape.end());
  const std::vector<int64_t> kernel(c.w_shape.begin() + 2, c.w_shape.end());
  const int64_t batch = c.x_shape[0], channels = c.x_shape[1], mg = c.w_shape[1];
  const int64_t out_channels = mg * c.group, cg = channels / c.group;
  std::vector<int64_t> out(rank);
  int64_t in_size = 1, out_size = 1, taps = 1;
  for (size_t d = 0; d < rank; ++d) {
    out[d] = c.strides[d] * (in[d] - 1) + c.output_padding[d] +
             (kernel[d] - 1) * c.dilations[d] + 1 - c.pads[d] - c.pads[d + rank];
    in_size *= in[d];
    out_size *= out[d];
    taps *= kernel[d];
  }
  *out_shape = {batch, out_channels};
  out_shape->insert(out_shape->end(), out.begin(), out.end());
  std::vector<double> y(static_cast<size_t>(batch * out_channels * out_size));
  for (int64_t n = 0; n < batch; ++n) {
    for (int64_t o = 0; o < out_channels; ++o) {
      for (int64_t i = 0; i < out_size; ++i) y[(n * out_channels + o) * out_size + i] = b.data<float>()[o];
    }
    for (int64_t ch = 0; ch < channels; ++ch) {
      const int64_t gi = ch / cg;
      std::vector<int64_t> pixel(rank, 0);
      int64_t in_flat = 0;
      do {
        const double v = x.data<float>()[(n * channels + ch) * in_size + in_flat++];
        std::vector<int64_t> tap(rank, 0);
        int64_t tap_flat = 0;
        do {
          int64_t out_flat = 0;
          bool inside = true;
          for (size_t d = 0; d < rank; ++d) {
            const int64_t pos = pixel[d] * c.strides[d] - c.pads[d] + tap[d] * c.dilations[d];
            inside = inside && pos >= 0 && pos < out[d];
            out_flat = out_flat * out[d] + pos;
          }
          for (int64_t m = 0; m < mg && inside; ++m) {
            y[(n * out_channels + gi * mg + m) * out_size + out_flat] +=
                v * w.data<float>()[(ch * mg + m) * taps + tap_flat];
          }
          ++tap_flat;
        } while (NextIndex(kernel, &tap));
      } while (NextIndex(in, &pixel));
    }
  }
  return y;
}

void ExpectConvTransposeMatchesReference(const ConvTransposeCase& c) {
  const Tensor x = Wave(c.x_shape, 0.37f, 0.3f), w = Wave(c.w_shape, 0.11f, 0.7f);
  const Tensor b = Wave({c.w_shape[1] * c.group}, 0.9f, 0.1f);
  std::vector<int64_t> shape;
  const std::vector<double> want = ReferenceConvTranspose(c, x, w, b, &shape);
  double scale = 1;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  OneNodeCase one;
  one.node = MakeNode("ConvTranspose", {"X", "W", "B"}, {"Y"});
  SetAttr(&one.node, "group", c.group);
  SetAttr(&one.node, "strides", c.strides);
  SetAttr(&one.node, "pads", c.pads);
  SetAttr(&one.node, "dilations", c.dilations);
  SetAttr(&one.node, "output_padding", c.output_padding);
  one.inputs = {{"X", x}};
  one.constants = {{"W", w}, {"B", b}};
  auto out = RunOneNode(one);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out.value()[0].shape(), shape);
  const std::vector<double> got = Values(out.value()[0]);
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], kProductTolerance * scale) << "element " << i;
  }
}

TEST(LinearTest, ConvTransposeMatchesReferenceInOneTwoAndThreeDims) {
  ExpectConvTransposeMatchesReference({{1, 3, 7}, {3, 2, 4}, 1, {2}, {1, 2}, {1}, {1}});
  ExpectConvTransposeMatchesReference({{2, 4, 5, 6}, {4, 3, 3, 2}, 2, {2, 1}, {1, 0, 0, 1}, {1, 2}, {1, 0}});
  // Strides, asymmetric pads, dilations and output_padding differing per axis.
  ExpectConvTransposeMatchesReference(
      {{1, 3, 4, 5, 3}, {3, 2, 3, 2, 3}, 1, {2, 1, 3}, {1, 0, 2, 0, 1, 1}, {1, 2, 1}, {1, 0, 2}});
  ExpectConvTransposeMatchesReference(
      {{2, 4, 3, 4, 5}, {4, 3, 2, 3, 2}, 2, {1, 2, 2}, {0, 1, 0, 1, 0, 0}, {2, 1, 1}, {0, 1, 0}});
}

TEST(LinearTest, ConvTransposeAttributesNotMatchingTheSpatialRankAreRefused) {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> bad = {
      {"kernel_shape", {2, 2}}, {"pads", {1, 1, 1, 1}}, {"strides", {1, 1}},
      {"dilations", {1, 1, 1, 1}}, {"output_padding", {1}}, {"strides", {0, 1, 1}},
      {"pads", {1, 1, 1, int64_t{1} << 62, 1, 1}},
  };
  for (const auto& [attr, value] : bad) {
    SCOPED_TRACE(attr);
    OneNodeCase one;
    one.node = MakeNode("ConvTranspose", {"X", "W"}, {"Y"});
    one.node.set_name("deconv3d");
    SetAttr(&one.node, attr, value);
    one.inputs = {{"X", Wave({1, 2, 3, 4, 5}, 0.5f, 0.0f)}};
    one.constants = {{"W", Wave({2, 3, 2, 2, 2}, 0.25f, 0.0f)}};
    auto out = RunOneNode(one);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput) << out.status().ToString();
    EXPECT_NE(out.status().message().find("node 'deconv3d'"), std::string::npos)
        << out.status().message();
  }
}

}  // namespace
}  // namespace pq
