// Tests of src/quant/int8_dynamic.cc and its writer (dynamic_matmul_writer.cc):
// weights int8 per output channel with zero point 0; MatMul and Gemm
// (transB 0/1, alpha, beta, C) become DynamicQuantizeLinear -> MatMulInteger
// -> Cast -> Mul whose outputs stay close to the FP32 model's; no
// calibration; models below opset 11 are upgraded to 11 by pq first.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "pq/executor.h"
#include "pq/quantize.h"
#include "quant/scheme.h"
#include "testutil/graph_builder.h"

namespace pq::quant {
namespace {

// Relative L2 distance allowed between the FP32 and the int8-dynamic outputs
// (8-bit weights and activations: about 2^-7 per factor).
constexpr double kMaxRelativeL2 = 2e-2;

QuantizeOptions Dynamic() {
  QuantizeOptions o;
  o.scheme = "int8-dynamic";
  return o;
}

// X [2, 8] -> MatMul(W [8, 6]) -> Gemm(transB = 1, alpha 0.5, beta 2, C [5]) -> Y [2, 5].
testing::GraphBuilder MatMulGemm(int64_t opset = 13) {
  testing::GraphBuilder b(opset);
  b.Input("X", {2, 8}).Output("Y", {2, 5}).Weight("W", {8, 6}, 3).Weight("G", {5, 6}, 4).Weight("C", {5}, 5);
  b.Node("MatMul", {"X", "W"}, {"H"}, "mm");
  onnx::NodeProto* gemm = b.Node("Gemm", {"H", "G", "C"}, {"Y"}, "gemm");
  testing::GraphBuilder::IntAttr(gemm, "transB", 1);
  auto* alpha = gemm->add_attribute();
  alpha->set_name("alpha");
  alpha->set_type(onnx::AttributeProto::FLOAT);
  alpha->set_f(0.5f);
  auto* beta = gemm->add_attribute();
  beta->set_name("beta");
  beta->set_type(onnx::AttributeProto::FLOAT);
  beta->set_f(2.0f);
  return b;
}

Tensor RunModel(const Model& model, const Tensor& x) {
  auto exec = Executor::Create(model, {});
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  auto out = exec.value()->Run({{"X", x}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return std::move(out.value()[0]);
}

int Count(const Model& m, const std::string& op) {
  int n = 0;
  for (const auto& node : m.proto().graph().node()) n += node.op_type() == op;
  return n;
}

TEST(Int8DynamicTest, SchemeNeedsNoCalibrationAndStoresSymmetricInt8PerChannel) {
  auto s = MakeScheme("int8-dynamic");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s.value()->QuantizesActivations());
  EXPECT_TRUE(s.value()->SymmetricWeights());
  EXPECT_EQ(s.value()->Encoding(), WeightEncoding::kDynamicMatMul);
  std::string reason;
  EXPECT_FALSE(s.value()->TakesWeight({"Conv", {4, 3, 3, 3}, false}, &reason));
  EXPECT_NE(reason.find("Conv"), std::string::npos) << reason;
  const std::vector<float> w = {-1.0f, 0.5f, 2.0f, -4.0f};  // [2, 2], channels along axis 1
  auto q = s.value()->QuantizeWeight({"w", w.data(), {2, 2}, 1});
  ASSERT_TRUE(q.ok());
  // Column 0 holds {-1, 2}, column 1 {0.5, -4}.
  EXPECT_EQ(q->params.scale, (std::vector<float>{2.0f / 127, 4.0f / 127}));
  EXPECT_EQ(q->params.zero_point, (std::vector<int64_t>{0, 0}));
}

TEST(Int8DynamicTest, MatMulAndGemmBecomeDynamicProductsCloseToFp32) {
  const testing::GraphBuilder b = MatMulGemm();
  auto model = b.Build();
  ASSERT_NE(model, nullptr);
  Result<QuantizeOutcome> out = Quantize(*model, Dynamic(), {});  // no --calib needed
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->nodes_quantized, 2);
  EXPECT_TRUE(out->activation_stats.empty());
  const Model& q = *out->model;
  EXPECT_EQ(Count(q, "DynamicQuantizeLinear"), 2);
  EXPECT_EQ(Count(q, "MatMulInteger"), 2);
  EXPECT_EQ(Count(q, "MatMul") + Count(q, "Gemm"), 0);
  // The FP32 weights are gone; int8 [K, N] ones (G transposed) replace them.
  for (const auto& init : q.proto().graph().initializer()) {
    EXPECT_NE(init.name(), "W");
    EXPECT_NE(init.name(), "G");
    if (init.name() == "G_int8") {
      EXPECT_EQ(std::vector<int64_t>(init.dims().begin(), init.dims().end()), (std::vector<int64_t>{6, 5}));
    }
  }
  for (const QuantizedTensorRecord& r : out->tensors) {
    EXPECT_EQ(r.written_form, "DynamicQuantizeMatMul") << r.name;
    EXPECT_EQ(r.granularity, "per-channel") << r.name;
    EXPECT_EQ(r.written_nodes.size(), 1u) << r.name;
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  Tensor x = Tensor::Allocate(kFloat, {2, 8}).value();
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = dist(rng);
  const Tensor ref = RunModel(*model, x);
  const Tensor got = RunModel(q, x);
  ASSERT_EQ(ref.shape(), got.shape());
  double diff = 0, norm = 0;
  for (int64_t i = 0; i < ref.size(); ++i) {
    diff += std::pow(ref.data<float>()[i] - got.data<float>()[i], 2);
    norm += std::pow(ref.data<float>()[i], 2);
  }
  EXPECT_LE(std::sqrt(diff / norm), kMaxRelativeL2);
  EXPECT_GT(std::sqrt(diff / norm), 0.0);  // it really is quantized
}

// DynamicQuantizeLinear needs opset 11: a model at 9 or 10 (torch exports at
// opset 9 are common) is upgraded by pq, as the QDQ schemes' models are, not
// refused; the upgrade is listed in the transformations.
TEST(Int8DynamicTest, OpsetBelowElevenIsUpgradedToEleven) {
  for (int64_t opset : {9, 10}) {
    auto model = MatMulGemm(opset).Build();
    ASSERT_NE(model, nullptr);
    Result<QuantizeOutcome> out = Quantize(*model, Dynamic(), {});
    ASSERT_TRUE(out.ok()) << "opset " << opset << ": " << out.status().ToString();
    EXPECT_EQ(out->model->OpsetVersion(""), 11);
    EXPECT_EQ(out->nodes_quantized, 2);
    EXPECT_EQ(Count(*out->model, "DynamicQuantizeLinear"), 2);
    ASSERT_FALSE(out->transformations.empty());
    EXPECT_NE(out->transformations[0].find("from " + std::to_string(opset) + " to 11"), std::string::npos)
        << out->transformations[0];
  }
}

}  // namespace
}  // namespace pq::quant
