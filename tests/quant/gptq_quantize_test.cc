// Quantize with --weight-algo gptq, end to end through the library, and the
// Hessian stage it runs (src/quant/hessian_stage.cc): which layer inputs are
// observed (one X^T X per distinct input, shared by its readers), that X^T X
// is the plain sum over the calibration rows, that every blockwise weight is
// recorded with its rounding and lower output error, that the written model
// does not depend on the thread count, and the refusals (no --calib, an int8
// scheme, data that does not fit the model).
#include <gtest/gtest.h>

#include <random>

#include "pq/npy.h"
#include "pq/quantize.h"
#include "quant/hessian_stage.h"
#include "quant/scheme_set.h"
#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

constexpr int64_t kFeatures = 64;
constexpr int64_t kSamples = 96;
// GPTQ's output error must be at most this share of RTN's on correlated data.
constexpr double kMaxGptqToRtnRatio = 0.8;

// X[batch, 64] -> MatMul(W1[64, 64]) -> H -> Relu -> R -> MatMul(W2[64, 32]) -> Y
//             \-> Gemm(Wg[32, 64], transB) -> G
// X is read by two planned weights, R by one.
onnx::ModelProto TwoBranchProto() {
  testing::GraphBuilder b(13);
  b.Input("X", {-1, kFeatures}).Output("Y", {-1, 32}).Output("G", {-1, 32});
  b.Weight("W1", {kFeatures, 64}, 1).Weight("W2", {64, 32}, 2).Weight("Wg", {32, kFeatures}, 3);
  b.Node("MatMul", {"X", "W1"}, {"H"}, "mm1");
  b.Node("Relu", {"H"}, {"R"});
  b.Node("MatMul", {"R", "W2"}, {"Y"}, "mm2");
  testing::GraphBuilder::IntAttr(b.Node("Gemm", {"X", "Wg"}, {"G"}, "gemm"), "transB", 1);
  return b.proto();
}

// Inputs with a few large-variance directions (as a transformer's are).
std::vector<float> CorrelatedInputs(int64_t samples, uint32_t seed) {
  constexpr int kDirections = 4;
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> a(kDirections * kFeatures);
  for (float& v : a) v = normal(rng);
  std::vector<float> x(static_cast<size_t>(samples * kFeatures));
  for (int64_t s = 0; s < samples; ++s) {
    float z[kDirections];
    for (float& v : z) v = normal(rng);
    for (int64_t c = 0; c < kFeatures; ++c) {
      float v = 0.05f * normal(rng);
      for (int d = 0; d < kDirections; ++d) v += z[d] * a[static_cast<size_t>(d * kFeatures + c)];
      x[static_cast<size_t>(s * kFeatures + c)] = v;
    }
  }
  return x;
}

class GptqQuantizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = testing::ModelOf(TwoBranchProto());
    inputs_ = CorrelatedInputs(kSamples, 1);
    testing::WriteFile(dir_.File("calib.npy"), EncodeNpy(testing::Floats({kSamples, kFeatures}, inputs_)));
    options_.scheme = "nf4";
    options_.weight_algo = "gptq";
    options_.calib_paths = {dir_.File("calib.npy")};
  }

  testing::TempDir dir_;
  std::unique_ptr<Model> model_;
  std::vector<float> inputs_;
  QuantizeOptions options_;
};

TEST_F(GptqQuantizeTest, OneXtxPerDistinctInputSummedOverEveryRow) {
  const SchemeSet schemes = MakeSchemeSet(options_).value();
  const QuantPlan plan = BuildPlan(*model_, options_, false, true, *schemes.main, nullptr);
  const std::vector<HessianInput> inputs = HessianInputsOf(*model_, plan);
  ASSERT_EQ(inputs.size(), 2u);  // X (mm1 and gemm share it), R
  options_.calib_batch = 7;      // a short last batch
  Result<LayerHessians> h = CollectHessians(*model_, plan, options_, {});
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->samples, kSamples);
  EXPECT_EQ(h->batch, 7);
  ASSERT_EQ(h->files.size(), 1u);
  const InputHessian& x = h->by_input.at({"X", false, kFeatures});
  EXPECT_EQ(x.rows, kSamples);
  Eigen::MatrixXd want = Eigen::MatrixXd::Zero(kFeatures, kFeatures);
  for (int64_t s = 0; s < kSamples; ++s) {
    for (int64_t i = 0; i < kFeatures; ++i) {
      for (int64_t j = 0; j < kFeatures; ++j) {
        want(i, j) += double{inputs_[static_cast<size_t>(s * kFeatures + i)]} *
                      double{inputs_[static_cast<size_t>(s * kFeatures + j)]};
      }
    }
  }
  EXPECT_LE((x.xtx - want).cwiseAbs().maxCoeff(), 1e-9 * want.cwiseAbs().maxCoeff());
  EXPECT_EQ(h->by_input.at({"R", false, 64}).rows, kSamples);
}

TEST_F(GptqQuantizeTest, EveryBlockwiseWeightIsRecordedWithALowerOutputError) {
  for (const char* scheme : {"nf4", "int4-sym", "int4-asym"}) {
    SCOPED_TRACE(scheme);
    options_.scheme = scheme;
    Result<QuantizeOutcome> out = Quantize(*model_, options_, {});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_TRUE(out->warnings.empty());
    ASSERT_EQ(out->rounding_data.files.size(), 1u);
    EXPECT_EQ(out->rounding_data.samples, kSamples);
    EXPECT_TRUE(out->activation_stats.files.empty());
    ASSERT_EQ(out->tensors.size(), 3u);
    for (const QuantizedTensorRecord& r : out->tensors) {
      SCOPED_TRACE(r.name);
      ASSERT_TRUE(r.rounding.has_value());
      EXPECT_EQ(r.rounding->requested, "gptq");
      ASSERT_TRUE(r.rounding->output_error && r.rounding->output_error_rtn);
      EXPECT_EQ(r.rounding->rows, kSamples);
      if (r.name == "W1" || r.name == "Wg") {
        // The correlated input: GPTQ wins clearly.
        EXPECT_EQ(r.rounding->applied, "gptq") << r.rounding->fallback;
        EXPECT_EQ(r.rounding->inputs, std::vector<std::string>{"X"});
        EXPECT_LE(*r.rounding->output_error, kMaxGptqToRtnRatio * *r.rounding->output_error_rtn);
      }
      // Whichever was applied is the lower.
      const double applied = r.rounding->applied == "gptq" ? *r.rounding->output_error
                                                            : *r.rounding->output_error_rtn;
      EXPECT_LE(applied, *r.rounding->output_error_rtn);
    }
  }
}

TEST_F(GptqQuantizeTest, SameModelForEveryThreadCountWithAndWithoutActOrder) {
  for (bool act_order : {false, true}) {
    options_.gptq_act_order = act_order;
    options_.threads = 1;
    Result<QuantizeOutcome> one = Quantize(*model_, options_, {});
    options_.threads = 2;
    Result<QuantizeOutcome> two = Quantize(*model_, options_, {});
    ASSERT_TRUE(one.ok() && two.ok());
    EXPECT_EQ(one->model->proto().SerializeAsString(), two->model->proto().SerializeAsString());
    EXPECT_TRUE(one->tensors.front().rounding->act_order == act_order);
  }
}

TEST_F(GptqQuantizeTest, RefusesWithoutDataAndDataThatDoesNotFit) {
  QuantizeOptions no_data = options_;
  no_data.calib_paths.clear();
  Result<QuantizeOutcome> r = Quantize(*model_, no_data, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--calib"), std::string::npos) << r.status().message();

  QuantizeOptions int8 = options_;
  int8.scheme = "int8-sym";
  int8.weights_only = true;
  int8.calib_paths.clear();
  r = Quantize(*model_, int8, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("--calib"), std::string::npos) << r.status().message();

  QuantizeOptions negative = options_;
  negative.gptq_damp = -0.5;
  EXPECT_EQ(Quantize(*model_, negative, {}).status().code(), Status::Code::kInvalidArgument);

  testing::WriteFile(dir_.File("wrong.npy"), EncodeNpy(testing::Floats({4, 3}, std::vector<float>(12, 1.0f))));
  QuantizeOptions wrong = options_;
  wrong.calib_paths = {dir_.File("wrong.npy")};
  r = Quantize(*model_, wrong, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find("wrong.npy"), std::string::npos) << r.status().message();
}

TEST_F(GptqQuantizeTest, GptqFlagsWithRtnAreReportedAsIgnored) {
  QuantizeOptions rtn = options_;
  rtn.weight_algo = "rtn";
  rtn.gptq_act_order = true;
  Result<QuantizeOutcome> r = Quantize(*model_, rtn, {});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("--gptq-act-order"), std::string::npos);
  EXPECT_FALSE(r->tensors.front().rounding.has_value());
  EXPECT_TRUE(r->rounding_data.files.empty());
}

}  // namespace
}  // namespace pq::quant
