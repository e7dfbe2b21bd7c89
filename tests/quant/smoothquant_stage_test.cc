// --smoothquant end to end through the library (src/quant/smoothquant_stage.cc
// and its place in quantize.cc): on a model whose LayerNorm output has a few
// outlier channels, int8-sym static with SmoothQuant is closer to FP32 than
// without; the smoothed FP32 model computes what the original did; each
// MatMul weight is recorded (alpha, fold target, max scale, or why not);
// and the refusals, each naming the flag.
#include <gtest/gtest.h>

#include <random>

#include "pq/executor.h"
#include "pq/npy.h"
#include "pq/quantize.h"
#include "quant/plan.h"
#include "quant/scheme_set.h"
#include "quant/smoothquant_stage.h"
#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

constexpr int64_t kFeatures = 64;
constexpr int64_t kSamples = 96;
// With SmoothQuant, the int8 model's summed squared output error must be at
// most this share of the error without it.
constexpr double kMaxSmoothToPlainRatio = 0.8;
// The smoothed FP32 model may differ from the original by float rounding
// only, relative to the largest output.
constexpr double kMaxFoldError = 1e-5;

// X[batch, 64] -> LayerNormalization(g, b) -> N -> MatMul(W1[64, 64]) -> H -> Relu -> R
//   -> MatMul(W2[64, 32]) -> Y. g's first 4 entries are 30: N has outlier channels.
onnx::ModelProto OutlierNormProto() {
  testing::GraphBuilder b(17);
  b.Input("X", {-1, kFeatures}).Output("Y", {-1, 32});
  std::vector<float> g(kFeatures, 1.0f);
  for (int j = 0; j < 4; ++j) g[static_cast<size_t>(j)] = 30.0f;
  b.Floats("g", {kFeatures}, g).Weight("b", {kFeatures}, 1).Weight("W1", {kFeatures, 64}, 2);
  b.Weight("W2", {64, 32}, 3);
  b.Node("LayerNormalization", {"X", "g", "b"}, {"N"}, "ln");
  b.Node("MatMul", {"N", "W1"}, {"H"}, "mm1");
  b.Node("Relu", {"H"}, {"R"});
  b.Node("MatMul", {"R", "W2"}, {"Y"}, "mm2");
  return b.proto();
}

Tensor Inputs(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(kSamples * kFeatures));
  for (float& v : x) v = normal(rng);
  return testing::Floats({kSamples, kFeatures}, x);
}

std::vector<double> Outputs(const Model& model, const Tensor& x) {
  auto out = Executor::Create(model).value()->Run({{"X", x}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? testing::Values(out.value()[0]) : std::vector<double>{};
}

double SquaredError(const std::vector<double>& a, const std::vector<double>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) sum += (a[i] - b[i]) * (a[i] - b[i]);
  return sum;
}

class SmoothQuantStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::ModelOf(OutlierNormProto());
    x_ = Inputs(1);
    testing::WriteFile(dir_.File("calib.npy"), EncodeNpy(x_));
    options_.scheme = "int8-sym";
    options_.calib_paths = {dir_.File("calib.npy")};
    options_.smoothquant_alpha = 0.5;
  }

  testing::TempDir dir_;
  std::unique_ptr<Model> model_;
  Tensor x_;
  QuantizeOptions options_;
};

TEST_F(SmoothQuantStageTest, SmoothedFp32ModelComputesTheSame) {
  Result<SchemeSet> schemes = MakeSchemeSet(options_);
  ASSERT_TRUE(schemes.ok());
  const QuantPlan plan = BuildPlan(*model_, options_, true, true, schemes.value());
  Result<SmoothQuantOutcome> smooth = ApplySmoothQuant(*model_, plan, options_, {});
  ASSERT_TRUE(smooth.ok()) << smooth.status().ToString();
  ASSERT_NE(smooth->model, nullptr);
  const std::vector<double> before = Outputs(*model_, x_), after = Outputs(*smooth->model, x_);
  double top = 0;
  for (double v : before) top = std::max(top, std::abs(v));
  double diff = 0;
  for (size_t i = 0; i < before.size(); ++i) diff = std::max(diff, std::abs(before[i] - after[i]));
  EXPECT_LE(diff, kMaxFoldError * top);
  ASSERT_EQ(smooth->transformations.size(), 1u);
  EXPECT_NE(smooth->transformations[0].find("LayerNormalization 'ln'"), std::string::npos);
}

TEST_F(SmoothQuantStageTest, CloserToFp32ThanWithoutAndRecorded) {
  Result<QuantizeOutcome> smooth = Quantize(*model_, options_, {});
  ASSERT_TRUE(smooth.ok()) << smooth.status().ToString();
  QuantizeOptions plain_options = options_;
  plain_options.smoothquant_alpha.reset();
  Result<QuantizeOutcome> plain = Quantize(*model_, plain_options, {});
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  const std::vector<double> fp32 = Outputs(*model_, x_);
  EXPECT_LE(SquaredError(fp32, Outputs(*smooth->model, x_)),
            kMaxSmoothToPlainRatio * SquaredError(fp32, Outputs(*plain->model, x_)));
  int weights = 0;
  for (const QuantizedTensorRecord& r : smooth->tensors) {
    if (r.role != TensorRole::kWeight) continue;
    ++weights;
    ASSERT_TRUE(r.smoothquant.has_value()) << r.name;
    EXPECT_EQ(r.smoothquant->alpha, 0.5);
    if (r.name == "W1") {
      EXPECT_EQ(r.smoothquant->folded_into, "LayerNormalization 'ln'");
      EXPECT_TRUE(r.smoothquant->not_applied.empty());
      EXPECT_GT(r.smoothquant->scale_max, 1.0);  // the outlier channels
    } else {
      EXPECT_TRUE(r.smoothquant->folded_into.empty());
      EXPECT_NE(r.smoothquant->not_applied.find("Relu"), std::string::npos) << r.smoothquant->not_applied;
    }
  }
  EXPECT_EQ(weights, 2);
  for (const QuantizedTensorRecord& r : plain->tensors) EXPECT_FALSE(r.smoothquant.has_value());
}

TEST_F(SmoothQuantStageTest, BadInputsAreUsageErrorsNamingTheFlag) {
  auto refused = [&](const QuantizeOptions& o) {
    Result<QuantizeOutcome> out = Quantize(*model_, o, {});
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(out.status().message().find("--smoothquant"), std::string::npos) << out.status().message();
  };
  for (double alpha : {-0.1, 1.5, std::nan("")}) {
    QuantizeOptions o = options_;
    o.smoothquant_alpha = alpha;
    refused(o);
  }
  QuantizeOptions no_data = options_;
  no_data.calib_paths.clear();
  refused(no_data);
  QuantizeOptions weights_only = options_;
  weights_only.weights_only = true;
  refused(weights_only);
  QuantizeOptions awq = options_;
  awq.weight_algo = "awq";
  refused(awq);
}

}  // namespace
}  // namespace pq::quant
