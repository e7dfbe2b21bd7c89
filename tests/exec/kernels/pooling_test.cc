// Tests of src/exec/kernels/pooling.cc (beyond ONNX's conformance cases).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

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

}  // namespace
}  // namespace pq
