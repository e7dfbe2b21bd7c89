// Tests of src/exec/kernels/conv.cc: the tiled im2col/GEMM path and the
// direct depthwise path against a naive reference convolution, and results
// that do not depend on the thread count.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "exec/kernel_test_util.h"

namespace pq {
namespace {

// |pq - reference| <= kConvTolerance * max |reference| (float GEMM vs double sums).
constexpr double kConvTolerance = 1e-5;

struct ConvCase {
  std::vector<int64_t> x_shape, w_shape;
  int64_t group;
  std::vector<int64_t> strides, pads, dilations;  // per spatial axis; pads begin then end
};

Tensor Wave(std::vector<int64_t> shape, float step) {
  Tensor t = Tensor::Allocate(kFloat, std::move(shape)).value();
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = std::sin(step * static_cast<float>(i) + 0.3f);
  return t;
}

// The ONNX Conv definition, one output element at a time, in double.
std::vector<double> ReferenceConv(const ConvCase& c, const Tensor& x, const Tensor& w,
                                  const Tensor& b, std::vector<int64_t>* out_shape) {
  const bool one_d = c.x_shape.size() == 3;
  const int64_t n_batch = c.x_shape[0], channels = c.x_shape[1], out_channels = c.w_shape[0];
  const int64_t ih = one_d ? 1 : c.x_shape[2], iw = c.x_shape.back();
  const int64_t kh = one_d ? 1 : c.w_shape[2], kw = c.w_shape.back();
  const int64_t sh = one_d ? 1 : c.strides[0], sw = c.strides.back();
  const int64_t dh = one_d ? 1 : c.dilations[0], dw = c.dilations.back();
  const size_t r = one_d ? 1 : 2;
  const int64_t ph = one_d ? 0 : c.pads[0], pw = c.pads[r - 1];
  const int64_t ph_end = one_d ? 0 : c.pads[2], pw_end = c.pads[2 * r - 1];
  const int64_t oh = (ih + ph + ph_end - dh * (kh - 1) - 1) / sh + 1;
  const int64_t ow = (iw + pw + pw_end - dw * (kw - 1) - 1) / sw + 1;
  *out_shape = one_d ? std::vector<int64_t>{n_batch, out_channels, ow}
                     : std::vector<int64_t>{n_batch, out_channels, oh, ow};
  const int64_t cg = channels / c.group, mg = out_channels / c.group;
  std::vector<double> y;
  for (int64_t n = 0; n < n_batch; ++n) {
    for (int64_t o = 0; o < out_channels; ++o) {
      for (int64_t oy = 0; oy < oh; ++oy) {
        for (int64_t ox = 0; ox < ow; ++ox) {
          double sum = b.data<float>()[o];
          for (int64_t ci = 0; ci < cg; ++ci) {
            const int64_t ch = (o / mg) * cg + ci;
            for (int64_t i = 0; i < kh; ++i) {
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t sy = oy * sh - ph + i * dh, sx = ox * sw - pw + j * dw;
                if (sy < 0 || sy >= ih || sx < 0 || sx >= iw) continue;
                sum += static_cast<double>(x.data<float>()[((n * channels + ch) * ih + sy) * iw + sx]) *
                       w.data<float>()[((o * cg + ci) * kh + i) * kw + j];
              }
            }
          }
          y.push_back(sum);
        }
      }
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
  testing::SetAttr(&one.node, "pads", c.pads);
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

}  // namespace
}  // namespace pq
