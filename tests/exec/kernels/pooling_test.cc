// Tests of src/exec/kernels/pooling.cc (beyond ONNX's conformance cases).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq {
namespace {

// The first NaN of the window in (row, column) order, else its largest value.
float ReferenceMax(const float* plane, int64_t width, int64_t y, int64_t x) {
  const float taps[4] = {plane[2 * y * width + 2 * x], plane[2 * y * width + 2 * x + 1],
                         plane[(2 * y + 1) * width + 2 * x], plane[(2 * y + 1) * width + 2 * x + 1]};
  float best = taps[0];
  for (float v : taps) {
    if (std::isnan(v)) return v;
    if (v > best) best = v;
  }
  return best;
}

// The 2x2 stride-2 MaxPool path, on odd sizes (the last row and column belong
// to no window) and with NaNs of different payloads planted in some windows.
TEST(PoolingKernelTest, MaxPool2x2Stride2MatchesReferenceWithNans) {
  const int64_t channels = 3, height = 9, width = 11;
  std::vector<float> values(static_cast<size_t>(channels * height * width));
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.7f * static_cast<float>(i));
  auto nan_with_payload = [](uint32_t payload) {
    uint32_t bits = 0x7fc00000u | payload;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  };
  values[1] = nan_with_payload(1);               // channel 0, window (0, 0), second tap
  values[width] = nan_with_payload(2);           // same window, third tap: the first NaN wins
  values[99 + 3 * width + 5] = nan_with_payload(3);  // channel 1, window (1, 2)
  values[2 * 99 + 10] = std::numeric_limits<float>::quiet_NaN();  // outside every window

  testing::OneNodeCase c;
  c.node = testing::MakeNode("MaxPool", {"X"}, {"Y"});
  testing::SetAttr(&c.node, "kernel_shape", std::vector<int64_t>{2, 2});
  testing::SetAttr(&c.node, "strides", std::vector<int64_t>{2, 2});
  c.inputs["X"] = testing::Floats({1, channels, height, width}, values);
  Result<std::vector<Tensor>> out = testing::RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const Tensor& y = out.value()[0];
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, channels, 4, 5}));
  for (int64_t ch = 0; ch < channels; ++ch) {
    for (int64_t oy = 0; oy < 4; ++oy) {
      for (int64_t ox = 0; ox < 5; ++ox) {
        const float want = ReferenceMax(values.data() + ch * height * width, width, oy, ox);
        const float got = y.data<float>()[(ch * 4 + oy) * 5 + ox];
        uint32_t want_bits, got_bits;
        std::memcpy(&want_bits, &want, sizeof want);
        std::memcpy(&got_bits, &got, sizeof got);
        EXPECT_EQ(got_bits, want_bits) << "channel " << ch << " output (" << oy << ", " << ox << ")";
      }
    }
  }
}

// |pq - reference| <= kAveragePoolTolerance * max |reference| (double sums
// in both, rounded to float once by pq).
constexpr double kAveragePoolTolerance = 1e-6;

struct PoolCase {
  std::vector<int64_t> x_shape, kernel, strides, pads, dilations;  // pads: begin then end
  bool ceil_mode = false;
  bool count_include_pad = false;
};

Tensor Wave(std::vector<int64_t> shape, float step) {
  Tensor t = Tensor::Allocate(kFloat, std::move(shape)).value();
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = std::sin(step * static_cast<float>(i) + 0.3f);
  return t;
}

// Advances `index` over `dims` in row-major order; false after the last one.
bool NextIndex(const std::vector<int64_t>& dims, std::vector<int64_t>* index) {
  for (size_t d = dims.size(); d-- > 0;) {
    if (++(*index)[d] < dims[d]) return true;
    (*index)[d] = 0;
  }
  return false;
}

// ONNX MaxPool (values and flat indices of the first maximum in window
// order) and AveragePool, any number of spatial axes, one window at a time.
struct PoolReference {
  std::vector<int64_t> shape;
  std::vector<double> max, average;
  std::vector<int64_t> argmax;
};

PoolReference ReferencePool(const PoolCase& c, const Tensor& x) {
  const size_t rank = c.kernel.size();
  const std::vector<int64_t> in(c.x_shape.begin() + 2, c.x_shape.end());
  std::vector<int64_t> out(rank);
  int64_t in_size = 1;
  for (size_t d = 0; d < rank; ++d) {
    in_size *= in[d];
    const int64_t span = in[d] + c.pads[d] + c.pads[d + rank] - c.dilations[d] * (c.kernel[d] - 1) - 1;
    out[d] = (c.ceil_mode ? (span + c.strides[d] - 1) / c.strides[d] : span / c.strides[d]) + 1;
    // With ceil_mode the last window must start inside the input or its leading pad.
    if (c.ceil_mode && (out[d] - 1) * c.strides[d] >= in[d] + c.pads[d]) --out[d];
  }
  PoolReference r;
  r.shape = {c.x_shape[0], c.x_shape[1]};
  r.shape.insert(r.shape.end(), out.begin(), out.end());
  for (int64_t plane = 0; plane < c.x_shape[0] * c.x_shape[1]; ++plane) {
    std::vector<int64_t> pixel(rank, 0);
    do {
      double best = -std::numeric_limits<double>::infinity(), sum = 0;
      int64_t best_index = -1, inside_count = 0, padded_count = 0;
      std::vector<int64_t> tap(rank, 0);
      do {
        bool inside = true, in_padded = true;
        int64_t flat = 0;
        for (size_t d = 0; d < rank; ++d) {
          const int64_t pos = pixel[d] * c.strides[d] - c.pads[d] + tap[d] * c.dilations[d];
          inside = inside && pos >= 0 && pos < in[d];
          in_padded = in_padded && pos >= -c.pads[d] && pos < in[d] + c.pads[d + rank];
          flat = flat * in[d] + pos;
        }
        padded_count += in_padded ? 1 : 0;
        if (!inside) continue;
        const double v = x.data<float>()[plane * in_size + flat];
        if (v > best) {
          best = v;
          best_index = plane * in_size + flat;
        }
        sum += v;
        ++inside_count;
      } while (NextIndex(c.kernel, &tap));
      r.max.push_back(best);
      r.argmax.push_back(best_index);
      r.average.push_back(sum / static_cast<double>(c.count_include_pad ? padded_count : inside_count));
    } while (NextIndex(out, &pixel));
  }
  return r;
}

Result<std::vector<Tensor>> RunPool(const std::string& op, const PoolCase& c, const Tensor& x,
                                    int threads) {
  testing::OneNodeCase one;
  const bool is_max = op == "MaxPool";
  one.node = is_max ? testing::MakeNode(op, {"X"}, {"Y", "Indices"}) : testing::MakeNode(op, {"X"}, {"Y"});
  testing::SetAttr(&one.node, "kernel_shape", c.kernel);
  testing::SetAttr(&one.node, "strides", c.strides);
  testing::SetAttr(&one.node, "pads", c.pads);
  testing::SetAttr(&one.node, "ceil_mode", static_cast<int64_t>(c.ceil_mode));
  if (is_max) {
    testing::SetAttr(&one.node, "dilations", c.dilations);
  } else {
    testing::SetAttr(&one.node, "count_include_pad", static_cast<int64_t>(c.count_include_pad));
  }
  one.inputs = {{"X", x}};
  one.threads = threads;
  return testing::RunOneNode(one);
}

// MaxPool (values exact, Indices) and, when c has no dilations, AveragePool
// (which has them only from opset 19) against the reference; the same bits
// for 1, 2 and 3 threads.
void ExpectPoolMatchesReference(const PoolCase& c) {
  const Tensor x = Wave(c.x_shape, 0.37f);
  const PoolReference want = ReferencePool(c, x);
  double scale = 0;
  for (double v : want.average) scale = std::max(scale, std::fabs(v));
  std::vector<double> first_max, first_average;
  const bool undilated =
      std::all_of(c.dilations.begin(), c.dilations.end(), [](int64_t d) { return d == 1; });
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    auto max = RunPool("MaxPool", c, x, threads);
    ASSERT_TRUE(max.ok()) << max.status().ToString();
    ASSERT_EQ(max.value()[0].shape(), want.shape);
    EXPECT_EQ(testing::Values(max.value()[0]), want.max);
    const Tensor& indices = max.value()[1];
    ASSERT_EQ(indices.shape(), want.shape);
    EXPECT_EQ(std::vector<int64_t>(indices.data<int64_t>(), indices.data<int64_t>() + indices.size()),
              want.argmax);
    std::vector<double> got;
    if (undilated) {
      auto average = RunPool("AveragePool", c, x, threads);
      ASSERT_TRUE(average.ok()) << average.status().ToString();
      ASSERT_EQ(average.value()[0].shape(), want.shape);
      got = testing::Values(average.value()[0]);
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_NEAR(got[i], want.average[i], kAveragePoolTolerance * scale) << "element " << i;
      }
    }
    if (first_max.empty()) {
      first_max = testing::Values(max.value()[0]);
      first_average = got;
    }
    EXPECT_EQ(testing::Values(max.value()[0]), first_max);
    EXPECT_EQ(got, first_average);
  }
}

TEST(PoolingKernelTest, ThreeDimensionalPoolsMatchReference) {
  ExpectPoolMatchesReference({{1, 3, 6, 7, 8}, {2, 3, 2}, {2, 1, 2}, {0, 1, 1, 1, 0, 1}, {1, 1, 1}});
  PoolCase include_pad{{2, 2, 5, 6, 7}, {3, 2, 3}, {1, 2, 2}, {1, 0, 1, 1, 1, 2}, {1, 1, 1}};
  include_pad.count_include_pad = true;
  ExpectPoolMatchesReference(include_pad);
}

TEST(PoolingKernelTest, ThreeDimensionalCeilModeAndDilatedMaxPoolMatchReference) {
  PoolCase ceil{{1, 2, 7, 8, 9}, {3, 2, 2}, {2, 3, 2}, {1, 0, 0, 1, 1, 0}, {1, 1, 1}};
  ceil.ceil_mode = true;
  ExpectPoolMatchesReference(ceil);
  ceil.count_include_pad = true;
  ExpectPoolMatchesReference(ceil);
  // MaxPool only is checked with dilations (AveragePool has them from opset 19).
  ExpectPoolMatchesReference({{1, 2, 8, 9, 7}, {2, 3, 2}, {1, 2, 1}, {1, 1, 0, 0, 1, 1}, {2, 1, 3}});
}

// Large enough for the planes to be split across threads.
TEST(PoolingKernelTest, ParallelThreeDimensionalPoolsAreTheSameForEveryThreadCount) {
  ExpectPoolMatchesReference({{2, 8, 10, 18, 18}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1, 1, 1, 1}, {1, 1, 1}});
}

TEST(PoolingKernelTest, GlobalPoolsOfThreeDimensionalInputsMatchReference) {
  const std::vector<int64_t> shape = {2, 3, 4, 5, 6};
  const Tensor x = Wave(shape, 0.37f);
  const int64_t inner = 4 * 5 * 6;
  for (const std::string op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    testing::OneNodeCase one;
    one.node = testing::MakeNode(op, {"X"}, {"Y"});
    one.inputs = {{"X", x}};
    auto out = testing::RunOneNode(one);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 3, 1, 1, 1}));
    for (int64_t p = 0; p < 6; ++p) {
      double sum = 0, best = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < inner; ++i) {
        sum += x.data<float>()[p * inner + i];
        best = std::max<double>(best, x.data<float>()[p * inner + i]);
      }
      const double want = op == "GlobalMaxPool" ? best : sum / static_cast<double>(inner);
      EXPECT_NEAR(out.value()[0].data<float>()[p], want, kAveragePoolTolerance) << op << " plane " << p;
    }
  }
}

// Attributes whose lengths do not fit X's spatial rank are refused naming the node.
TEST(PoolingKernelTest, AttributesNotMatchingTheSpatialRankAreRefused) {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> bad = {
      {"kernel_shape", {2, 2}}, {"kernel_shape", {2, 2, 2, 2}}, {"pads", {1, 1, 1}},
      {"strides", {1, 1}},      {"dilations", {1, 1, 1, 1}},
  };
  for (const std::string op : {"MaxPool", "AveragePool"}) {
    for (const auto& [attr, value] : bad) {
      SCOPED_TRACE(op + " " + attr);
      testing::OneNodeCase one;
      one.node = testing::MakeNode(op, {"X"}, {"Y"});
      one.node.set_name("pool3d");
      testing::SetAttr(&one.node, "kernel_shape", attr == "kernel_shape" ? value : std::vector<int64_t>{2, 2, 2});
      if (attr != "kernel_shape") testing::SetAttr(&one.node, attr, value);
      one.inputs = {{"X", Wave({1, 2, 4, 5, 6}, 0.5f)}};
      one.opset = 19;
      auto out = testing::RunOneNode(one);
      ASSERT_FALSE(out.ok());
      EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput) << out.status().ToString();
      EXPECT_NE(out.status().message().find("node 'pool3d'"), std::string::npos)
          << out.status().message();
    }
  }
}

TEST(PoolingKernelTest, MaxUnpoolScattersByIndexAndPadsToOutputShape) {
  testing::OneNodeCase c;
  c.node = testing::MakeNode("MaxUnpool", {"X", "I", "S"}, {"Y"});
  c.node.set_name("unpool");
  testing::SetAttr(&c.node, "kernel_shape", std::vector<int64_t>{2});
  testing::SetAttr(&c.node, "strides", std::vector<int64_t>{2});
  // [1, 1, 2] unpools to [1, 1, 4]; output_shape [1, 1, 5] adds a zero.
  c.inputs = {{"X", testing::Floats({1, 1, 2}, {7, 9})}, {"I", testing::Int64s({1, 1, 2}, {1, 2})}};
  c.constants = {{"S", testing::Int64s({3}, {1, 1, 5})}};
  auto out = testing::RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{1, 1, 5}));
  EXPECT_EQ(testing::Values(out.value()[0]), (std::vector<double>{0, 7, 9, 0, 0}));
  c.inputs["I"] = testing::Int64s({1, 1, 2}, {1, 4});
  auto bad = testing::RunOneNode(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unpool"), std::string::npos);
  EXPECT_NE(bad.status().message().find("index 4"), std::string::npos);
}

// Brute-force 2-D max pooling of one [H, W] plane with stride 1 and a
// 2x2 kernel over `pads` (top/left = bottom/right): each window's maximum
// (the first in row-major order on ties) and its row-major offset.
template <typename T>
void ReferenceMaxPool2x2(const std::vector<T>& plane, int64_t h, int64_t w, int64_t pad,
                         std::vector<T>* values, std::vector<int64_t>* offsets) {
  for (int64_t oy = 0; oy < h + 2 * pad - 1; ++oy) {
    for (int64_t ox = 0; ox < w + 2 * pad - 1; ++ox) {
      int64_t best = -1;
      for (int64_t y = oy - pad; y < oy - pad + 2; ++y) {
        for (int64_t x = ox - pad; x < ox - pad + 2; ++x) {
          if (y < 0 || y >= h || x < 0 || x >= w) continue;
          if (best < 0 || plane[static_cast<size_t>(y * w + x)] > plane[static_cast<size_t>(best)]) {
            best = y * w + x;
          }
        }
      }
      values->push_back(plane[static_cast<size_t>(best)]);
      offsets->push_back(best);
    }
  }
}

// uint8 and int8 MaxPool over padding: padding never wins (an all-negative
// int8 window keeps its negative maximum), 255 and -128 survive, and the
// Indices output counts within the whole tensor.
TEST(PoolingKernelTest, MaxPoolOfUint8AndInt8IgnoresPaddingAndGivesIndices) {
  const int64_t h = 3, w = 4;
  const std::vector<int64_t> u8 = {0, 255, 3, 7, 9, 1, 254, 0, 4, 4, 2, 128,
                                   5, 6, 7, 8, 1, 1, 1, 1, 0, 0, 0, 0};
  const std::vector<int64_t> i8 = {-5, -9, -128, -7, -3, -100, -4, -6, -8, -2, -1, -128,
                                   127, -1, 0, 1, -128, -128, -128, -128, 3, 2, 1, 0};
  for (int32_t dtype : {kUint8, kInt8}) {
    const std::vector<int64_t>& values = dtype == kUint8 ? u8 : i8;
    testing::OneNodeCase c;
    c.node = testing::MakeNode("MaxPool", {"X"}, {"Y", "I"});
    testing::SetAttr(&c.node, "kernel_shape", std::vector<int64_t>{2, 2});
    testing::SetAttr(&c.node, "pads", std::vector<int64_t>{1, 1, 1, 1});
    c.inputs["X"] = testing::MakeTensor<int64_t>(dtype, {1, 2, h, w}, values);
    c.opset = 12;
    auto out = testing::RunOneNode(c);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(out.value()[0].dtype(), dtype);
    ASSERT_EQ(out.value()[0].shape(), (std::vector<int64_t>{1, 2, 4, 5}));
    const std::vector<double> got = testing::Values(out.value()[0]);
    const std::vector<double> got_index = testing::Values(out.value()[1]);
    for (int64_t p = 0; p < 2; ++p) {
      const std::vector<int64_t> plane(values.begin() + p * h * w, values.begin() + (p + 1) * h * w);
      std::vector<int64_t> want, offsets;
      ReferenceMaxPool2x2(plane, h, w, 1, &want, &offsets);
      for (size_t o = 0; o < want.size(); ++o) {
        EXPECT_EQ(got[static_cast<size_t>(p) * 20 + o], static_cast<double>(want[o]))
            << DataTypeName(dtype) << " plane " << p << " output " << o;
        EXPECT_EQ(got_index[static_cast<size_t>(p) * 20 + o], static_cast<double>(p * h * w + offsets[o]))
            << DataTypeName(dtype) << " plane " << p << " output " << o;
      }
    }
  }
}

// storage_order=1: each window's argmax counts column-major within its
// plane (h + w * H), plus the plane's start; storage_order=0 row-major.
TEST(PoolingKernelTest, MaxPoolStorageOrderOneGivesColumnMajorIndices) {
  const int64_t h = 4, w = 5;
  std::vector<float> values(static_cast<size_t>(2 * h * w));
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(1.3f * static_cast<float>(i));
  for (int64_t order : {0, 1}) {
    testing::OneNodeCase c;
    c.node = testing::MakeNode("MaxPool", {"X"}, {"Y", "I"});
    testing::SetAttr(&c.node, "kernel_shape", std::vector<int64_t>{2, 2});
    testing::SetAttr(&c.node, "storage_order", order);
    c.inputs["X"] = testing::Floats({1, 2, h, w}, values);
    c.opset = 12;
    auto out = testing::RunOneNode(c);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    const std::vector<double> index = testing::Values(out.value()[1]);
    ASSERT_EQ(index.size(), 2u * 3 * 4);
    for (int64_t p = 0; p < 2; ++p) {
      const std::vector<float> plane(values.begin() + p * h * w, values.begin() + (p + 1) * h * w);
      std::vector<float> want;
      std::vector<int64_t> offsets;
      ReferenceMaxPool2x2(plane, h, w, 0, &want, &offsets);
      for (size_t o = 0; o < offsets.size(); ++o) {
        const int64_t y = offsets[o] / w, x = offsets[o] % w;
        const int64_t expected = p * h * w + (order == 1 ? y + x * h : offsets[o]);
        EXPECT_EQ(index[static_cast<size_t>(p) * 12 + o], static_cast<double>(expected))
            << "storage_order " << order << " plane " << p << " output " << o;
        EXPECT_EQ(out.value()[0].data<float>()[p * 12 + static_cast<int64_t>(o)], want[o]);
      }
    }
  }
}

TEST(PoolingKernelTest, RefusesIntegerAveragePoolAndBadStorageOrderNamingTheNode) {
  testing::OneNodeCase c;
  c.node = testing::MakeNode("AveragePool", {"X"}, {"Y"});
  c.node.set_name("avg_u8");
  testing::SetAttr(&c.node, "kernel_shape", std::vector<int64_t>{2, 2});
  c.inputs["X"] = testing::MakeTensor<int64_t>(kUint8, {1, 1, 2, 2}, {1, 2, 3, 4});
  auto avg = testing::RunOneNode(c);
  ASSERT_FALSE(avg.ok());
  EXPECT_EQ(avg.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(avg.status().message().find("avg_u8"), std::string::npos) << avg.status().message();
  c.node = testing::MakeNode("MaxPool", {"X"}, {"Y", "I"});
  c.node.set_name("max_order");
  testing::SetAttr(&c.node, "kernel_shape", std::vector<int64_t>{2, 2});
  testing::SetAttr(&c.node, "storage_order", int64_t{2});
  c.opset = 12;
  auto order = testing::RunOneNode(c);
  ASSERT_FALSE(order.ok());
  EXPECT_NE(order.status().message().find("max_order"), std::string::npos);
  EXPECT_NE(order.status().message().find("storage_order"), std::string::npos);
}

}  // namespace
}  // namespace pq
