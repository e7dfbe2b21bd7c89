// Empirical bias correction (src/quant/bias_correction.cc,
// input_mean_collector.cc, bias_correction_stage.cc and its place in
// quantize.cc): the Conv patch means against hand counts; the Conv output
// shift against pq's executor running the Conv on the weight error (strides,
// pads, groups); DequantizeLinear's values; and end to end, on models whose
// per-tensor int8 weights round with a biased error and whose inputs have a
// large mean, the corrected model's mean output error is a fraction of the
// uncorrected one's (a Gemm weights-only, a Conv without a bias statically,
// which gets one); the records; and the refusal without --calib.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "pq/data_type.h"
#include "pq/executor.h"
#include "pq/npy.h"
#include "pq/quantize.h"
#include "quant/bias_correction.h"
#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

constexpr int64_t kSamples = 64;
// The corrected model's mean output error (over samples, per output channel,
// averaged over channels) must be at most this share of the uncorrected.
constexpr double kMaxCorrectedToPlainRatio = 0.5;
// Float sums in a different order: the shift agrees with the executor's
// Conv within this, relative to the largest shift.
constexpr double kShiftAgreement = 1e-5;

TEST(ConvPatchSumsTest, PaddedCornersSeeFewerPositions) {
  // x = ones [1, 1, 3, 3], kernel 3x3, pads 1: 9 output positions; the
  // corner tap (0, 0) sees the input at 4 of them, the centre tap at all 9.
  ConvGeometry g;
  g.channels = 1;
  g.kernel = {3, 3};
  g.pads = {1, 1, 1, 1};
  const std::vector<float> x(9, 1.0f);
  std::vector<double> sums;
  Result<int64_t> positions = AddConvPatchSums(x.data(), {1, 1, 3, 3}, g, &sums);
  ASSERT_TRUE(positions.ok());
  EXPECT_EQ(positions.value(), 9);
  EXPECT_EQ(sums[0], 4.0);
  EXPECT_EQ(sums[4], 9.0);
  EXPECT_EQ(sums[1], 6.0);
  EXPECT_FALSE(AddConvPatchSums(x.data(), {1, 2, 3, 3}, g, &sums).ok());  // 2 channels, not 1
}

// The shift of a grouped, strided, padded Conv equals the mean over
// positions of that Conv run by pq's executor on the weight error alone.
TEST(ConvOutputShiftTest, MatchesTheExecutorsConvOfTheWeightError) {
  testing::GraphBuilder b(13);
  b.Input("X", {-1, 4, 7, 7}).Output("Y", {-1, 6, 4, 4});
  b.Weight("dW", {6, 2, 3, 3}, 5);
  onnx::NodeProto* conv = b.Node("Conv", {"X", "dW"}, {"Y"});
  testing::GraphBuilder::IntAttr(conv, "group", 2);
  testing::AddIntsAttr(conv, "strides", {2, 2});
  testing::AddIntsAttr(conv, "pads", {1, 1, 1, 1});
  std::unique_ptr<Model> model = b.Build();
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(1.0f, 1.0f);
  std::vector<float> x(3 * 4 * 49);
  for (float& v : x) v = normal(rng);
  auto y = Executor::Create(*model).value()->Run({{"X", testing::Floats({3, 4, 7, 7}, x)}});
  ASSERT_TRUE(y.ok()) << y.status().ToString();
  const std::vector<double> out = testing::Values(y.value()[0]);
  ConvGeometry g;
  g.channels = 4;
  g.kernel = {3, 3};
  g.strides = {2, 2};
  g.pads = {1, 1, 1, 1};
  std::vector<double> sums;
  Result<int64_t> positions = AddConvPatchSums(x.data(), {3, 4, 7, 7}, g, &sums);
  ASSERT_TRUE(positions.ok());
  ASSERT_EQ(positions.value(), 3 * 16);
  for (double& s : sums) s /= static_cast<double>(positions.value());
  const ConstantTensor* dw = model->FindConstant("dW");
  std::vector<float> dw_values(static_cast<size_t>(dw->element_count));
  std::memcpy(dw_values.data(), dw->data, static_cast<size_t>(dw->byte_size));
  const std::vector<double> shift = ConvOutputShift(dw_values, dw->dims, 2, sums);
  double top = 0;
  for (double v : shift) top = std::max(top, std::fabs(v));
  for (int64_t o = 0; o < 6; ++o) {
    double mean = 0;
    for (int64_t n = 0; n < 3; ++n) {
      for (int64_t p = 0; p < 16; ++p) mean += out[static_cast<size_t>((n * 6 + o) * 16 + p)];
    }
    EXPECT_NEAR(shift[static_cast<size_t>(o)], mean / 48.0, kShiftAgreement * top) << o;
  }
}

TEST(DequantizedWeightTest, PerChannelInt8AndPerTensorUint8) {
  ConstantRewrite r;
  r.tensor = "W";
  r.shape = {2, 2};
  r.params.dtype = kInt8;
  r.params.axis = 0;
  r.params.scale = {0.5f, 2.0f};
  r.params.zero_point = {0, 0};
  r.data = std::string{static_cast<char>(-2), 3, 1, static_cast<char>(-1)};
  Result<std::vector<float>> w = DequantizedWeight(r);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w.value(), (std::vector<float>{-1.0f, 1.5f, 2.0f, -2.0f}));
  r.params = {kUint8, {0.25f}, {128}, -1, 0};
  r.data = std::string{static_cast<char>(128), static_cast<char>(132), static_cast<char>(124), 0};
  EXPECT_EQ(DequantizedWeight(r).value(), (std::vector<float>{0.0f, 1.0f, -1.0f, -32.0f}));
  r.encoding = WeightEncoding::kMatMulNBits;
  EXPECT_FALSE(DequantizedWeight(r).ok());
}

// Inputs with mean 3 (so a weight error shifts the output) and spread 1.
Tensor ShiftedInputs(const std::vector<int64_t>& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(3.0f, 1.0f);
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> x(static_cast<size_t>(count));
  for (float& v : x) v = normal(rng);
  return testing::Floats(shape, x);
}

// A weight whose one large value makes the per-tensor int8 step coarse: the
// other values round with errors that do not average out per channel.
std::vector<float> CoarseWeight(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.05f, 0.05f);
  std::vector<float> w(count);
  for (float& v : w) v = u(rng);
  w[0] = 4.0f;
  return w;
}

// Mean over channels of |mean over samples and positions of (y - ref)|, for
// outputs [N, C, ...] with `channels` channels.
double MeanOutputError(const std::vector<double>& y, const std::vector<double>& ref, int64_t samples,
                       int64_t channels) {
  const int64_t per = static_cast<int64_t>(ref.size()) / (samples * channels);
  double total = 0;
  for (int64_t c = 0; c < channels; ++c) {
    double sum = 0;
    for (int64_t n = 0; n < samples; ++n) {
      for (int64_t p = 0; p < per; ++p) {
        const size_t i = static_cast<size_t>((n * channels + c) * per + p);
        sum += y[i] - ref[i];
      }
    }
    total += std::fabs(sum / static_cast<double>(samples * per));
  }
  return total / static_cast<double>(channels);
}

std::vector<double> Outputs(const Model& model, const std::string& input, const Tensor& x) {
  auto out = Executor::Create(model).value()->Run({{input, x}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? testing::Values(out.value()[0]) : std::vector<double>{};
}

class BiasCorrectionTest : public ::testing::Test {
 protected:
  // Quantizes `model` with and without --bias-correction (calibrated on
  // `calib`) and returns the two mean output errors on `held_out`.
  void MeanErrors(const Model& model, QuantizeOptions options, const Tensor& calib, const Tensor& held_out,
                  int64_t channels, double* plain, double* corrected, QuantizeOutcome* outcome) {
    testing::WriteFile(dir_.File("calib.npy"), EncodeNpy(calib));
    options.calib_paths = {dir_.File("calib.npy")};
    options.per_channel = false;
    Result<QuantizeOutcome> without = Quantize(model, options, {});
    ASSERT_TRUE(without.ok()) << without.status().ToString();
    options.bias_correction = true;
    Result<QuantizeOutcome> with = Quantize(model, options, {});
    ASSERT_TRUE(with.ok()) << with.status().ToString();
    const std::vector<double> ref = Outputs(model, "X", held_out);
    const int64_t n = held_out.shape()[0];
    *plain = MeanOutputError(Outputs(*without->model, "X", held_out), ref, n, channels);
    *corrected = MeanOutputError(Outputs(*with->model, "X", held_out), ref, n, channels);
    *outcome = std::move(with).value();
  }
  testing::TempDir dir_;
};

TEST_F(BiasCorrectionTest, GemmWeightsOnlyMeanErrorShrinks) {
  // X[batch, 32] -> Gemm(W[32, 16], C) -> Y.
  testing::GraphBuilder b(13);
  b.Input("X", {-1, 32}).Output("Y", {-1, 16});
  b.Floats("W", {32, 16}, CoarseWeight(32 * 16, 1)).Weight("C", {16}, 2);
  b.Node("Gemm", {"X", "W", "C"}, {"Y"}, "fc");
  std::unique_ptr<Model> model = b.Build();
  QuantizeOptions options;
  options.scheme = "int8-sym";
  options.weights_only = true;
  double plain = 0, corrected = 0;
  QuantizeOutcome out;
  MeanErrors(*model, options, ShiftedInputs({kSamples, 32}, 1), ShiftedInputs({kSamples, 32}, 2), 16, &plain,
             &corrected, &out);
  EXPECT_LE(corrected, kMaxCorrectedToPlainRatio * plain) << corrected << " vs " << plain;
  ASSERT_EQ(out.tensors.size(), 1u);
  ASSERT_TRUE(out.tensors[0].bias_correction.has_value());
  const BiasCorrectionRecord& r = *out.tensors[0].bias_correction;
  EXPECT_EQ(r.bias, "C");
  EXPECT_FALSE(r.bias_added);
  EXPECT_TRUE(r.not_applied.empty()) << r.not_applied;
  EXPECT_EQ(r.channels, 16);
  EXPECT_GT(r.max_abs, 0.0);
  EXPECT_GE(r.max_abs, r.mean_abs);
}

TEST_F(BiasCorrectionTest, StaticConvWithoutBiasGetsOneAndMeanErrorShrinks) {
  // X[batch, 3, 6, 6] -> Conv(W[8, 3, 3, 3]; pads 1, no bias) -> Y.
  testing::GraphBuilder b(13);
  b.Input("X", {-1, 3, 6, 6}).Output("Y", {-1, 8, 6, 6});
  b.Floats("W", {8, 3, 3, 3}, CoarseWeight(8 * 27, 3));
  testing::AddIntsAttr(b.Node("Conv", {"X", "W"}, {"Y"}, "conv"), "pads", {1, 1, 1, 1});
  std::unique_ptr<Model> model = b.Build();
  QuantizeOptions options;
  options.scheme = "int8-asym";
  double plain = 0, corrected = 0;
  QuantizeOutcome out;
  MeanErrors(*model, options, ShiftedInputs({kSamples, 3, 6, 6}, 4), ShiftedInputs({kSamples, 3, 6, 6}, 5), 8,
             &plain, &corrected, &out);
  EXPECT_LE(corrected, kMaxCorrectedToPlainRatio * plain) << corrected << " vs " << plain;
  bool recorded = false;
  for (const QuantizedTensorRecord& r : out.tensors) {
    if (r.name != "W") continue;
    ASSERT_TRUE(r.bias_correction.has_value());
    EXPECT_TRUE(r.bias_correction->bias_added);
    EXPECT_TRUE(r.bias_correction->not_applied.empty()) << r.bias_correction->not_applied;
    recorded = true;
  }
  EXPECT_TRUE(recorded);
  EXPECT_EQ(testing::CountOpType(*out.model, "Conv"), 1);
}

TEST_F(BiasCorrectionTest, MatMulWithoutAnAddIsRecordedAsNotCorrected) {
  testing::GraphBuilder b(13);
  b.Input("X", {-1, 8}).Output("Y", {-1, 4});
  b.Weight("W", {8, 4}, 1);
  b.Node("MatMul", {"X", "W"}, {"Y"}, "mm");
  std::unique_ptr<Model> model = b.Build();
  testing::WriteFile(dir_.File("calib.npy"), EncodeNpy(ShiftedInputs({8, 8}, 1)));
  QuantizeOptions options;
  options.scheme = "int8-sym";
  options.calib_paths = {dir_.File("calib.npy")};
  options.bias_correction = true;
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_TRUE(out->tensors[0].bias_correction.has_value());
  EXPECT_NE(out->tensors[0].bias_correction->not_applied.find("no bias"), std::string::npos);
}

TEST_F(BiasCorrectionTest, WithoutCalibrationDataItIsAUsageErrorNamingTheFlag) {
  std::unique_ptr<Model> model = testing::ModelOf(testing::ConvMlpProto());
  QuantizeOptions options;
  options.scheme = "int8-sym";
  options.weights_only = true;
  options.bias_correction = true;
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(out.status().message().find("--bias-correction"), std::string::npos) << out.status().message();
}

}  // namespace
}  // namespace pq::quant
