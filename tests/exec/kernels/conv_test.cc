// Tests of src/exec/kernels/conv.cc: the tiled im2col/GEMM path (1-D, 2-D
// and N-D im2col) and the direct depthwise path against a naive reference
// convolution, results that do not depend on the thread count, and refused
// malformed nodes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq {
namespace {

// |pq - reference| <= kConvTolerance * max |reference| (float GEMM vs double sums).
constexpr double kConvTolerance = 1e-5;

struct ConvCase {
  std::vector<int64_t> x_shape, w_shape;
  int64_t group;
  std::vector<int64_t> strides, pads, dilations;  // per spatial axis; pads begin then end
  std::string auto_pad = "NOTSET";  // pads are not set unless NOTSET
};

Tensor Wave(std::vector<int64_t> shape, float step) {
  Tensor t = Tensor::Allocate(kFloat, std::move(shape)).value();
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = std::sin(step * static_cast<float>(i) + 0.3f);
  return t;
}

// Row-major flat index of `index` in `dims`.
int64_t FlatIndex(const std::vector<int64_t>& dims, const std::vector<int64_t>& index) {
  int64_t flat = 0;
  for (size_t d = 0; d < dims.size(); ++d) flat = flat * dims[d] + index[d];
  return flat;
}

// Advances `index` over `dims` in row-major order; false after the last one.
bool NextIndex(const std::vector<int64_t>& dims, std::vector<int64_t>* index) {
  for (size_t d = dims.size(); d-- > 0;) {
    if (++(*index)[d] < dims[d]) return true;
    (*index)[d] = 0;
  }
  return false;
}

// The ONNX Conv definition for any number of spatial axes (auto_pad
// included), one output element at a time, in double.
std::vector<double> ReferenceConv(const ConvCase& c, const Tensor& x, const Tensor& w,
                                  const Tensor& b, std::vector<int64_t>* out_shape) {
  const size_t rank = c.x_shape.size() - 2;
  const std::vector<int64_t> in(c.x_shape.begin() + 2, c.x_shape.end());
  const std::vector<int64_t> kernel(c.w_shape.begin() + 2, c.w_shape.end());
  std::vector<int64_t> out(rank), pad_begin(rank);
  for (size_t d = 0; d < rank; ++d) {
    const int64_t effective = c.dilations[d] * (kernel[d] - 1) + 1;
    if (c.auto_pad == "SAME_UPPER" || c.auto_pad == "SAME_LOWER") {
      out[d] = (in[d] + c.strides[d] - 1) / c.strides[d];
      const int64_t total = std::max<int64_t>(0, (out[d] - 1) * c.strides[d] + effective - in[d]);
      pad_begin[d] = c.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    } else if (c.auto_pad == "VALID") {
      out[d] = (in[d] - effective) / c.strides[d] + 1;
    } else {
      out[d] = (in[d] + c.pads[d] + c.pads[d + rank] - effective) / c.strides[d] + 1;
      pad_begin[d] = c.pads[d];
    }
  }
  const int64_t n_batch = c.x_shape[0], channels = c.x_shape[1], out_channels = c.w_shape[0];
  *out_shape = {n_batch, out_channels};
  out_shape->insert(out_shape->end(), out.begin(), out.end());
  const int64_t cg = channels / c.group, mg = out_channels / c.group;
  int64_t in_size = 1, taps = 1;
  for (size_t d = 0; d < rank; ++d) {
    in_size *= in[d];
    taps *= kernel[d];
  }
  std::vector<double> y;
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t o = 0; o < out_channels; ++o) {
      std::vector<int64_t> pixel(rank, 0);
      do {
        double sum = b.data<float>()[o];
        for (int64_t ci = 0; ci < cg; ++ci) {
          const int64_t ch = (o / mg) * cg + ci;
          std::vector<int64_t> tap(rank, 0), source(rank);
          do {
            bool inside = true;
            for (size_t d = 0; d < rank; ++d) {
              source[d] = pixel[d] * c.strides[d] - pad_begin[d] + tap[d] * c.dilations[d];
              inside = inside && source[d] >= 0 && source[d] < in[d];
            }
            if (!inside) continue;
            sum += static_cast<double>(x.data<float>()[(n * channels + ch) * in_size + FlatIndex(in, source)]) *
                   w.data<float>()[(o * cg + ci) * taps + FlatIndex(kernel, tap)];
          } while (NextIndex(kernel, &tap));
        }
        y.push_back(sum);
      } while (NextIndex(out, &pixel));
    }
  }
  return y;
}

Result<std::vector<Tensor>> RunConv(const ConvCase& c, const Tensor& x, const Tensor& w,
                                    const Tensor& b, int threads) {
  testing::OneNodeCase one;
  one.node = testing::MakeNode("Conv", {"X", "W", "B"}, {"Y"});
  testing::SetAttr(&one.node, "group", c.group);
  testing::SetAttr(&one.node, "strides", c.strides);
  if (c.auto_pad == "NOTSET") {
    testing::SetAttr(&one.node, "pads", c.pads);
  } else {
    testing::SetAttr(&one.node, "auto_pad", c.auto_pad);
  }
  testing::SetAttr(&one.node, "dilations", c.dilations);
  one.inputs = {{"X", x}};
  one.constants = {{"W", w}, {"B", b}};
  one.threads = threads;
  return testing::RunOneNode(one);
}

void ExpectMatchesReference(const ConvCase& c) {
  const Tensor x = Wave(c.x_shape, 0.37f), w = Wave(c.w_shape, 0.11f);
  const Tensor b = Wave({c.w_shape[0]}, 0.9f);
  std::vector<int64_t> shape;
  const std::vector<double> want = ReferenceConv(c, x, w, b, &shape);
  double scale = 0;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  std::vector<double> first;
  for (int threads : {1, 2, 3}) {
    auto out = RunConv(c, x, w, b, threads);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out.value()[0].shape(), shape);
    const std::vector<double> got = testing::Values(out.value()[0]);
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_NEAR(got[i], want[i], kConvTolerance * scale) << "element " << i << ", " << threads
                                                           << " threads";
    }
    if (first.empty()) first = got;
    EXPECT_EQ(got, first) << threads << " threads differ from 1";
  }
}

// An X of rank 0, 1 or 2 (found by fuzzing: rank 0 read dims that do not
// exist) is refused naming the node, for W of the same rank too.
TEST(ConvKernelTest, InputWithoutChannelsAndSpatialDimsIsRefused) {
  for (const std::vector<int64_t>& shape : {std::vector<int64_t>{}, std::vector<int64_t>{3},
                                            std::vector<int64_t>{1, 3}}) {
    testing::OneNodeCase one;
    one.node = testing::MakeNode("Conv", {"X", "W"}, {"Y"});
    one.node.set_name("conv");
    one.inputs = {{"X", Wave(shape, 0.5f)}};
    one.constants = {{"W", Wave(shape, 0.25f)}};
    auto out = testing::RunOneNode(one);
    ASSERT_FALSE(out.ok()) << shape.size();
    EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
    EXPECT_NE(out.status().message().find("node 'conv'"), std::string::npos) << out.status().message();
    EXPECT_NE(out.status().message().find("rank " + std::to_string(shape.size())), std::string::npos)
        << out.status().message();
  }
}

TEST(ConvKernelTest, StridedPaddedConvMatchesReference) {
  ExpectMatchesReference({{1, 3, 17, 19}, {8, 3, 3, 3}, 1, {2, 2}, {1, 1, 1, 1}, {1, 1}});
}

TEST(ConvKernelTest, AsymmetricPadsAndDilationsMatchReference) {
  ExpectMatchesReference({{1, 6, 11, 12}, {4, 3, 3, 3}, 2, {1, 2}, {2, 0, 1, 3}, {2, 1}});
}

TEST(ConvKernelTest, PointwiseConvMatchesReference) {
  ExpectMatchesReference({{2, 16, 9, 9}, {32, 16, 1, 1}, 1, {1, 1}, {0, 0, 0, 0}, {1, 1}});
}

TEST(ConvKernelTest, OneDimensionalConvMatchesReference) {
  ExpectMatchesReference({{1, 4, 30}, {6, 4, 5}, 1, {3}, {2, 2}, {1}});
}

TEST(ConvKernelTest, DepthwiseConvMatchesReference) {
  ExpectMatchesReference({{2, 8, 12, 13}, {8, 1, 3, 3}, 8, {1, 1}, {1, 1, 1, 1}, {1, 1}});
  // Two output channels per input channel, stride 2, uneven pads, dilation.
  ExpectMatchesReference({{1, 4, 13, 13}, {8, 1, 3, 3}, 4, {2, 2}, {1, 0, 2, 1}, {1, 2}});
}

// Large enough to be split across threads (tiles of pixels, planes).
TEST(ConvKernelTest, ParallelConvsMatchReferenceForEveryThreadCount) {
  ExpectMatchesReference({{1, 32, 40, 40}, {48, 32, 3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}});
  ExpectMatchesReference({{1, 64, 64, 64}, {64, 1, 3, 3}, 64, {2, 2}, {1, 1, 1, 1}, {1, 1}});
  // One image whose pixels fit one tile: only the minimum task count splits it.
  ExpectMatchesReference({{1, 32, 14, 14}, {64, 32, 3, 3}, 1, {1, 1}, {1, 1, 1, 1}, {1, 1}});
}

TEST(ConvKernelTest, ThreeDimensionalConvMatchesReference) {
  // Strides, asymmetric pads and dilations differing per axis.
  ExpectMatchesReference(
      {{1, 3, 7, 9, 8}, {5, 3, 3, 2, 3}, 1, {2, 1, 2}, {1, 0, 2, 0, 1, 1}, {1, 2, 1}});
  // Two images, groups of two channels, a kernel larger along the last axis.
  ExpectMatchesReference({{2, 4, 5, 6, 7}, {6, 2, 2, 3, 4}, 2, {1, 2, 1}, {0, 1, 1, 2, 0, 3}, {2, 1, 1}});
}

TEST(ConvKernelTest, ThreeDimensionalPointwiseAndDepthwiseConvsMatchReference) {
  ExpectMatchesReference({{2, 8, 4, 5, 6}, {12, 8, 1, 1, 1}, 1, {1, 1, 1}, {0, 0, 0, 0, 0, 0}, {1, 1, 1}});
  ExpectMatchesReference({{1, 6, 6, 7, 5}, {12, 1, 3, 3, 3}, 6, {1, 2, 1}, {1, 1, 1, 1, 1, 1}, {1, 1, 2}});
}

TEST(ConvKernelTest, ThreeDimensionalAutoPadMatchesReference) {
  for (const char* auto_pad : {"SAME_UPPER", "SAME_LOWER", "VALID"}) {
    SCOPED_TRACE(auto_pad);
    ExpectMatchesReference({{1, 3, 6, 7, 5}, {4, 3, 2, 3, 4}, 1, {2, 1, 3}, {}, {1, 2, 1}, auto_pad});
  }
}

// Four spatial axes run through the same N-D im2col.
TEST(ConvKernelTest, FourDimensionalConvMatchesReference) {
  ExpectMatchesReference(
      {{1, 2, 4, 5, 3, 6}, {3, 2, 2, 3, 2, 3}, 1, {1, 2, 1, 2}, {1, 0, 0, 1, 0, 1, 1, 0}, {1, 1, 2, 1}});
}

// Large enough to be split across threads; one image of a few tiles.
TEST(ConvKernelTest, ParallelThreeDimensionalConvsMatchReferenceForEveryThreadCount) {
  ExpectMatchesReference(
      {{1, 16, 10, 18, 18}, {24, 16, 3, 3, 3}, 1, {1, 1, 1}, {1, 1, 1, 1, 1, 1}, {1, 1, 1}});
  ExpectMatchesReference(
      {{2, 32, 8, 16, 16}, {32, 1, 3, 3, 3}, 32, {1, 1, 2}, {1, 1, 1, 1, 1, 1}, {1, 1, 1}});
}

// Conv attributes and W whose lengths do not fit X's spatial rank are refused
// naming the node (the executor is fuzzed: none may be read out of range).
TEST(ConvKernelTest, AttributesNotMatchingTheSpatialRankAreRefused) {
  struct BadCase {
    std::vector<int64_t> w_shape;
    std::string attr;
    std::vector<int64_t> value;
  };
  const std::vector<BadCase> cases = {
      {{4, 3, 2, 2, 2}, "kernel_shape", {2, 2}},
      {{4, 3, 2, 2, 2}, "kernel_shape", {2, 2, 2, 2}},
      {{4, 3, 2, 2, 2}, "pads", {1, 1, 1, 1}},
      {{4, 3, 2, 2, 2}, "pads", {1, 1, 1, 1, 1, 1, 1}},
      {{4, 3, 2, 2, 2}, "strides", {1, 1}},
      {{4, 3, 2, 2, 2}, "dilations", {1, 1, 1, 1}},
      {{4, 3, 2, 2}, "", {}},
      {{4, 3, 2, 2, 2, 2}, "", {}},
  };
  for (const BadCase& bad : cases) {
    SCOPED_TRACE(bad.attr + " with W " + std::to_string(bad.w_shape.size()) + "-D");
    testing::OneNodeCase one;
    one.node = testing::MakeNode("Conv", {"X", "W"}, {"Y"});
    one.node.set_name("conv3d");
    if (!bad.attr.empty()) testing::SetAttr(&one.node, bad.attr, bad.value);
    one.inputs = {{"X", Wave({1, 3, 4, 5, 6}, 0.5f)}};
    one.constants = {{"W", Wave(bad.w_shape, 0.25f)}};
    auto out = testing::RunOneNode(one);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput) << out.status().ToString();
    EXPECT_NE(out.status().message().find("node 'conv3d'"), std::string::npos)
        << out.status().message();
  }
}

}  // namespace
}  // namespace pq
