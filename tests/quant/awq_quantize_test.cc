// Quantize with --weight-algo awq, end to end through the library: on a
// model whose input has a few large features, the AWQ-quantized model's
// outputs are closer to the FP32 model's than round-to-nearest's on the
// calibration data; every 4-bit weight is recorded with its alpha and where
// 1/s went; an int8 scheme's weights are scaled too; and the refusal (no
// --calib).
#include <gtest/gtest.h>

#include <random>

#include "pq/executor.h"
#include "pq/npy.h"
#include "pq/quantize.h"
#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

constexpr int64_t kFeatures = 64;
constexpr int64_t kSamples = 128;
// AWQ's output error on the calibration data must be at most this share of
// round-to-nearest's.
constexpr double kMaxAwqToRtnRatio = 0.95;

// X[batch, 64] -> Mul(g) -> N -> MatMul(W1[64, 64]) -> H -> Relu -> R -> MatMul(W2[64, 32]) -> Y
onnx::ModelProto NormMlpProto() {
  testing::GraphBuilder b(13);
  b.Input("X", {-1, kFeatures}).Output("Y", {-1, 32});
  b.Weight("g", {kFeatures}, 1).Weight("W1", {kFeatures, 64}, 2).Weight("W2", {64, 32}, 3);
  b.Node("Mul", {"X", "g"}, {"N"}, "norm_mul");
  b.Node("MatMul", {"N", "W1"}, {"H"}, "mm1");
  b.Node("Relu", {"H"}, {"R"});
  b.Node("MatMul", {"R", "W2"}, {"Y"}, "mm2");
  return b.proto();
}

// Inputs whose first 4 features are 25x larger than the rest.
std::vector<float> OutlierInputs(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(kSamples * kFeatures));
  for (size_t i = 0; i < x.size(); ++i) x[i] = normal(rng) * (i % kFeatures < 4 ? 25.0f : 1.0f);
  return x;
}

double OutputError(const Model& reference, const Model& candidate, const Tensor& x) {
  auto a = Executor::Create(reference).value()->Run({{"X", x}});
  auto b = Executor::Create(candidate).value()->Run({{"X", x}});
  EXPECT_TRUE(a.ok() && b.ok());
  const float* p = a.value()[0].data<float>();
  const float* q = b.value()[0].data<float>();
  double sum = 0;
  for (int64_t i = 0; i < a.value()[0].size(); ++i) sum += (double{p[i]} - q[i]) * (double{p[i]} - q[i]);
  return sum;
}

class AwqQuantizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::ModelOf(NormMlpProto());
    x_ = testing::Floats({kSamples, kFeatures}, OutlierInputs(1));
    testing::WriteFile(dir_.File("calib.npy"), EncodeNpy(x_));
    options_.weight_algo = "awq";
    options_.calib_paths = {dir_.File("calib.npy")};
  }

  testing::TempDir dir_;
  std::unique_ptr<Model> model_;
  Tensor x_;
  QuantizeOptions options_;
};

TEST_F(AwqQuantizeTest, CloserToFp32ThanRoundToNearestAndRecorded) {
  for (const char* scheme : {"nf4", "int4-sym", "int4-asym"}) {
    SCOPED_TRACE(scheme);
    options_.scheme = scheme;
    Result<QuantizeOutcome> awq = Quantize(*model_, options_, {});
    ASSERT_TRUE(awq.ok()) << awq.status().ToString();
    QuantizeOptions rtn_options = options_;
    rtn_options.weight_algo = "rtn";
    Result<QuantizeOutcome> rtn = Quantize(*model_, rtn_options, {});
    ASSERT_TRUE(rtn.ok()) << rtn.status().ToString();
    EXPECT_LE(OutputError(*model_, *awq->model, x_), kMaxAwqToRtnRatio * OutputError(*model_, *rtn->model, x_));
    ASSERT_EQ(awq->tensors.size(), 2u);
    const WeightRoundingRecord& w1 = awq->tensors[0].rounding.value();
    EXPECT_EQ(awq->tensors[0].name, "W1");
    EXPECT_EQ(w1.requested, "awq");
    EXPECT_EQ(w1.applied, "awq");
    ASSERT_TRUE(w1.alpha.has_value());
    EXPECT_GT(*w1.alpha, 0.0);
    EXPECT_EQ(w1.scales_folded_into, "Mul 'norm_mul'");
    EXPECT_EQ(w1.scaled_with, std::vector<std::string>{"W1"});
    ASSERT_TRUE(w1.output_error && w1.output_error_rtn);
    EXPECT_LT(*w1.output_error, *w1.output_error_rtn);
    EXPECT_EQ(w1.rows, kSamples);
    // W2 reads the Relu output: 1/s is applied by an inserted Mul (or not at
    // all when alpha 0 won).
    const WeightRoundingRecord& w2 = awq->tensors[1].rounding.value();
    ASSERT_TRUE(w2.alpha.has_value());
    EXPECT_TRUE(*w2.alpha == 0 ? w2.scales_folded_into.empty() && w2.applied == "rtn"
                               : w2.scales_folded_into.rfind("Mul inserted", 0) == 0);
    EXPECT_FALSE(awq->transformations.empty());
    EXPECT_TRUE(awq->warnings.empty());
  }
}

TEST_F(AwqQuantizeTest, RefusesWithoutCalibrationAndScalesInt8Weights) {
  options_.scheme = "nf4";
  options_.calib_paths.clear();
  Result<QuantizeOutcome> out = Quantize(*model_, options_, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(out.status().message().find("--calib"), std::string::npos);
  options_.calib_paths = {dir_.File("calib.npy")};
  options_.scheme = "int8-sym";
  options_.weights_only = true;
  out = Quantize(*model_, options_, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  int searched = 0;
  for (const QuantizedTensorRecord& r : out->tensors) {
    if (r.name != "W1" && r.name != "W2") continue;
    ++searched;
    ASSERT_TRUE(r.rounding.has_value()) << r.name;
    EXPECT_EQ(r.rounding->requested, "awq");
    EXPECT_TRUE(r.rounding->alpha.has_value()) << r.name << ": " << r.rounding->fallback;
  }
  EXPECT_EQ(searched, 2);
}

}  // namespace
}  // namespace pq::quant
