// Tests of src/exec/kernels/dft.cc: DFT against a direct double-precision
// sum (radix-2 and Bluestein lengths, padding and truncation, any axis),
// inverse(DFT(x)) == x, onesided output, the opset-20 form, STFT against a
// hand-computed frame, and every refusal naming the node.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

using Complex = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;
// Largest error of a float output bin against the double sum, relative to
// the sum of the input magnitudes (float rounding of the result and input).
constexpr double kRelativeTolerance = 2e-6;
// Largest error of inverse(DFT(x)) against x, for |x| <= 1.
constexpr double kRoundTripTolerance = 1e-5;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A [outer, n, inner, channels] tensor of uniform values in [-1, 1].
Tensor RandomSignal(const std::vector<int64_t>& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor t = Tensor::Allocate(kFloat, shape).value();
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

struct DftCall {
  int64_t axis = 1;
  int64_t length = 0;  // 0: no dft_length input
  bool inverse = false;
  bool onesided = false;
  int64_t opset = 17;
};

Result<std::vector<Tensor>> RunDft(const Tensor& x, const DftCall& call) {
  OneNodeCase c;
  std::vector<std::string> inputs = {"x"};
  if (call.length != 0 || call.opset >= 20) inputs.push_back(call.length != 0 ? "n" : "");
  if (call.opset >= 20) inputs.push_back("axis");
  c.node = MakeNode("DFT", inputs, {"y"});
  c.node.set_name("dft");
  if (call.opset < 20) SetAttr(&c.node, "axis", call.axis);
  SetAttr(&c.node, "inverse", int64_t{call.inverse ? 1 : 0});
  SetAttr(&c.node, "onesided", int64_t{call.onesided ? 1 : 0});
  c.inputs = {{"x", x}};
  if (call.length != 0) c.inputs["n"] = Int64s({}, {call.length});
  if (call.opset >= 20) c.inputs["axis"] = Int64s({}, {call.axis});
  c.opset = call.opset;
  return RunOneNode(c);
}

// Checks `y` against the direct sum of the DFT of `x` along `axis`
// (x padded with zeros or truncated to `length`), bin by bin.
void ExpectDirectSum(const Tensor& x, int64_t axis, int64_t length, bool inverse, int64_t bins,
                     const Tensor& y) {
  const int64_t rank = x.rank();
  const int64_t n_in = x.dim(axis), channels = x.dim(rank - 1);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < rank - 1; ++d) inner *= x.dim(d);
  ASSERT_EQ(y.size(), outer * bins * inner * 2);
  const double sign = inverse ? 1.0 : -1.0;
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      double magnitude = 0;
      std::vector<Complex> line(static_cast<size_t>(length));
      for (int64_t k = 0; k < std::min(n_in, length); ++k) {
        const float* e = x.data<float>() + ((o * n_in + k) * inner + i) * channels;
        line[static_cast<size_t>(k)] = {e[0], channels == 2 ? e[1] : 0.0};
        magnitude += std::abs(line[static_cast<size_t>(k)]);
      }
      for (int64_t f = 0; f < bins; ++f) {
        Complex sum = 0;
        for (int64_t k = 0; k < length; ++k) {
          const double angle = sign * 2 * kPi * static_cast<double>(k * f % length) /
                               static_cast<double>(length);
          sum += line[static_cast<size_t>(k)] * Complex(std::cos(angle), std::sin(angle));
        }
        if (inverse) sum /= static_cast<double>(length);
        const double scale = inverse ? magnitude / static_cast<double>(length) : magnitude;
        const float* got = y.data<float>() + ((o * bins + f) * inner + i) * 2;
        EXPECT_NEAR(got[0], sum.real(), kRelativeTolerance * scale + 1e-7) << "bin " << f;
        EXPECT_NEAR(got[1], sum.imag(), kRelativeTolerance * scale + 1e-7) << "bin " << f;
      }
    }
  }
}

TEST(Dft, MatchesTheDirectSumForPowerOfTwoAndOtherLengths) {
  // 64 and 16 take the radix-2 path; 12, 7 and 97 (prime) Bluestein's.
  uint32_t seed = 1;
  for (int64_t n : {64, 16, 12, 7, 97}) {
    for (int64_t channels : {1, 2}) {
      const Tensor x = RandomSignal({2, n, 3, channels}, seed++);
      auto y = RunDft(x, {});
      ASSERT_TRUE(y.ok()) << y.status().ToString();
      EXPECT_EQ(y.value()[0].shape(), (std::vector<int64_t>{2, n, 3, 2}));
      ExpectDirectSum(x, 1, n, false, n, y.value()[0]);
    }
  }
}

TEST(Dft, PadsTruncatesAndTransformsAnyAxis) {
  const Tensor x = RandomSignal({4, 5, 6, 2}, 11);
  DftCall pad;
  pad.length = 8;  // 5 samples padded with zeros
  auto padded = RunDft(x, pad);
  ASSERT_TRUE(padded.ok()) << padded.status().ToString();
  ExpectDirectSum(x, 1, 8, false, 8, padded.value()[0]);
  DftCall cut;
  cut.axis = -2;  // dim 2 (6 samples), truncated to 3
  cut.length = 3;
  auto truncated = RunDft(x, cut);
  ASSERT_TRUE(truncated.ok()) << truncated.status().ToString();
  EXPECT_EQ(truncated.value()[0].shape(), (std::vector<int64_t>{4, 5, 3, 2}));
  ExpectDirectSum(x, 2, 3, false, 3, truncated.value()[0]);
  DftCall batch_axis;
  batch_axis.axis = 0;
  auto first = RunDft(x, batch_axis);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ExpectDirectSum(x, 0, 4, false, 4, first.value()[0]);
}

TEST(Dft, InverseOfTheTransformIsTheSignal) {
  for (int64_t n : {32, 10}) {
    const Tensor x = RandomSignal({1, n, 2}, 20 + static_cast<uint32_t>(n));
    auto y = RunDft(x, {});
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    DftCall inverse;
    inverse.inverse = true;
    auto back = RunDft(y.value()[0], inverse);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ExpectDirectSum(y.value()[0], 1, n, true, n, back.value()[0]);
    for (int64_t i = 0; i < x.size(); ++i) {
      EXPECT_NEAR(back.value()[0].data<float>()[i], x.data<float>()[i], kRoundTripTolerance);
    }
  }
}

TEST(Dft, OnesidedKeepsTheFirstHalfOfARealSignalsBins) {
  for (int64_t n : {16, 9}) {
    const Tensor x = RandomSignal({2, n, 1}, 40 + static_cast<uint32_t>(n));
    DftCall half;
    half.onesided = true;
    auto y = RunDft(x, half);
    ASSERT_TRUE(y.ok()) << y.status().ToString();
    EXPECT_EQ(y.value()[0].shape(), (std::vector<int64_t>{2, n / 2 + 1, 2}));
    ExpectDirectSum(x, 1, n, false, n / 2 + 1, y.value()[0]);
  }
}

TEST(Dft, Opset20TakesAxisAndLengthAsInputs) {
  const Tensor x = RandomSignal({3, 6, 1}, 60);
  DftCall call;
  call.opset = 20;
  call.axis = 0;
  call.length = 5;
  auto y = RunDft(x, call);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  EXPECT_EQ(y.value()[0].shape(), (std::vector<int64_t>{5, 6, 2}));
  ExpectDirectSum(x, 0, 5, false, 5, y.value()[0]);
  OneNodeCase c;  // axis input left out: -2
  c.node = MakeNode("DFT", {"x"}, {"y"});
  c.inputs = {{"x", x}};
  c.opset = 20;
  auto d = RunOneNode(c);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectDirectSum(x, 1, 6, false, 6, d.value()[0]);
}

TEST(Dft, RefusesBadAxesLengthsAndShapesNamingTheNode) {
  const Tensor real = RandomSignal({2, 4, 1}, 70);
  const Tensor complex = RandomSignal({2, 4, 2}, 71);
  DftCall last_axis;
  last_axis.axis = -1;  // the (real, imaginary) dim
  DftCall far_axis;
  far_axis.axis = 3;
  DftCall zero_length;
  zero_length.length = -2;
  DftCall onesided;
  onesided.onesided = true;
  const std::vector<std::pair<Result<std::vector<Tensor>>, std::string>> refused = {
      {RunDft(real, last_axis), "axis -1"},
      {RunDft(real, far_axis), "axis 3"},
      {RunDft(real, zero_length), "dft_length"},
      {RunDft(complex, onesided), "onesided"},
      {RunDft(RandomSignal({2, 4, 3}, 72), {}), "real or complex"},
  };
  for (const auto& [result, part] : refused) {
    ASSERT_FALSE(result.ok()) << part;
    EXPECT_TRUE(Contains(result.status().message(), "dft")) << result.status().ToString();
    EXPECT_TRUE(Contains(result.status().message(), part)) << result.status().ToString();
  }
}

Result<std::vector<Tensor>> RunStft(const Tensor& signal, int64_t step, const Tensor* window,
                                    int64_t frame_length, int64_t onesided) {
  OneNodeCase c;
  c.node = MakeNode("STFT", {"s", "step", window != nullptr ? "w" : "",
                             frame_length > 0 ? "len" : ""}, {"y"});
  c.node.set_name("stft");
  SetAttr(&c.node, "onesided", onesided);
  c.inputs = {{"s", signal}, {"step", Int64s({}, {step})}};
  if (window != nullptr) c.inputs["w"] = *window;
  if (frame_length > 0) c.inputs["len"] = Int64s({}, {frame_length});
  c.opset = 17;
  return RunOneNode(c);
}

TEST(Stft, FramesAreWindowedTransformsOfTheSignal) {
  // signal 0..7, frames of 4 every 2 samples: 3 frames. Frame 1 is
  // [2, 3, 4, 5] * [0.5, 1, 1, 0.5] = [1, 3, 4, 2.5]; its DFT of length 4 is
  // X0 = 10.5, X1 = 1 - 3i - 4 + 2.5i = -3 - 0.5i, X2 = 1 - 3 + 4 - 2.5 = -0.5.
  const Tensor signal = Floats({1, 8, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
  const Tensor window = Floats({4}, {0.5f, 1, 1, 0.5f});
  auto y = RunStft(signal, 2, &window, 4, 1);
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  ASSERT_EQ(y.value()[0].shape(), (std::vector<int64_t>{1, 3, 3, 2}));
  const std::vector<double> v = Values(y.value()[0]);
  const std::vector<double> frame1 = {10.5, 0, -3, -0.5, -0.5, 0};
  for (size_t i = 0; i < frame1.size(); ++i) EXPECT_NEAR(v[6 + i], frame1[i], 1e-5) << i;
  // Without a window (frame_length only) and two-sided: frame 2 is
  // [4, 5, 6, 7], X0 = 22, X1 = -2 + 2i, X2 = -2, X3 = -2 - 2i.
  auto plain = RunStft(signal, 2, nullptr, 4, 0);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_EQ(plain.value()[0].shape(), (std::vector<int64_t>{1, 3, 4, 2}));
  const std::vector<double> p = Values(plain.value()[0]);
  const std::vector<double> frame2 = {22, 0, -2, 2, -2, 0, -2, -2};
  for (size_t i = 0; i < frame2.size(); ++i) EXPECT_NEAR(p[16 + i], frame2[i], 1e-5) << i;
}

TEST(Stft, RefusesBadStepsWindowsAndLengthsNamingTheNode) {
  const Tensor signal = Floats({1, 8, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
  const Tensor window = Floats({4}, {1, 1, 1, 1});
  const Tensor complex = Floats({1, 8, 2}, {});
  const std::vector<std::pair<Result<std::vector<Tensor>>, std::string>> refused = {
      {RunStft(signal, 0, &window, 0, 1), "frame_step"},
      {RunStft(signal, -3, &window, 0, 1), "frame_step"},
      {RunStft(signal, 2, &window, 5, 1), "differs from the window"},
      {RunStft(signal, 2, nullptr, 0, 1), "frame_length"},
      {RunStft(signal, 2, nullptr, 9, 1), "frame_length"},
      {RunStft(complex, 2, &window, 0, 1), "onesided"},
  };
  for (const auto& [result, part] : refused) {
    ASSERT_FALSE(result.ok()) << part;
    EXPECT_TRUE(Contains(result.status().message(), "stft")) << result.status().ToString();
    EXPECT_TRUE(Contains(result.status().message(), part)) << result.status().ToString();
  }
}

}  // namespace
}  // namespace pq::testing
