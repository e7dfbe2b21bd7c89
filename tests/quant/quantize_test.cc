// End-to-end tests of src/quant/quantize.cc: weights-only and static INT8 on
// small models and the sample CNN, what is recorded versus what is written,
// exclusions, Constant-node weights, BatchNormalization folding, opset
// conversion.
#include "pq/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "exec/kernel_test_util.h"
#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "pq/npy.h"
#include "quant/prepare.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

std::unique_ptr<Model> FromProto(const onnx::ModelProto& proto) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "test.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

const onnx::TensorProto* FindInitializer(const Model& model, const std::string& name) {
  for (const auto& init : model.proto().graph().initializer()) {
    if (init.name() == name) return &init;
  }
  return nullptr;
}

int CountOps(const Model& model, const std::string& op) {
  int n = 0;
  for (const auto& node : model.proto().graph().node()) n += node.op_type() == op;
  return n;
}

// Every scale and zero point recorded equals what the model holds.
void ExpectRecordsMatchModel(const QuantizeOutcome& outcome) {
  for (const QuantizedTensorRecord& r : outcome.tensors) {
    SCOPED_TRACE(r.name);
    const onnx::TensorProto* scale = FindInitializer(*outcome.model, r.scale_name);
    const onnx::TensorProto* zp = FindInitializer(*outcome.model, r.zero_point_name);
    ASSERT_NE(scale, nullptr);
    ASSERT_NE(zp, nullptr);
    ASSERT_EQ(scale->raw_data().size(), r.params.scale.size() * 4);
    for (size_t i = 0; i < r.params.scale.size(); ++i) {
      float v;
      std::memcpy(&v, scale->raw_data().data() + 4 * i, 4);
      EXPECT_EQ(v, r.params.scale[i]);
    }
    EXPECT_EQ(zp->data_type(), r.params.dtype);
    const size_t width = zp->raw_data().size() / r.params.zero_point.size();
    for (size_t i = 0; i < r.params.zero_point.size(); ++i) {
      int64_t v = 0;
      if (width == 1) {
        v = r.params.dtype == 3 ? static_cast<int8_t>(zp->raw_data()[i])
                                : static_cast<uint8_t>(zp->raw_data()[i]);
      } else {
        int32_t v32;
        std::memcpy(&v32, zp->raw_data().data() + 4 * i, 4);
        v = v32;
      }
      EXPECT_EQ(v, r.params.zero_point[i]);
    }
    if (r.role != TensorRole::kActivation) {
      const onnx::TensorProto* q = FindInitializer(*outcome.model, r.quantized_name);
      ASSERT_NE(q, nullptr);
      EXPECT_EQ(q->data_type(), r.params.dtype);
    }
  }
}

TEST(QuantizeTest, WeightsOnlyStoresInt8WeightsBehindDequantizeLinear) {
  std::unique_ptr<Model> model = FromProto(testing::TinyMatMulModel());
  QuantizeOptions options;
  options.weights_only = true;
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->tensors.size(), 1u);
  const QuantizedTensorRecord& w = out->tensors[0];
  EXPECT_EQ(w.name, "W");
  EXPECT_EQ(w.role, TensorRole::kWeight);
  EXPECT_EQ(w.granularity, "per-channel");
  EXPECT_EQ(w.params.axis, 1);  // MatMul's constant B: the right axis
  EXPECT_EQ(w.params.scale.size(), 3u);
  ASSERT_TRUE(w.error.has_value());
  EXPECT_GT(w.error->sqnr_db, 30.0);
  EXPECT_EQ(FindInitializer(*out->model, "W"), nullptr) << "FP32 weight must be gone";
  EXPECT_EQ(CountOps(*out->model, "DequantizeLinear"), 1);
  EXPECT_EQ(CountOps(*out->model, "QuantizeLinear"), 0);
  ExpectRecordsMatchModel(*out);
  // The quantized model still computes nearly the same thing.
  auto exec_a = Executor::Create(*model).value();
  auto exec_b = Executor::Create(*out->model).value();
  Tensor x = testing::Floats({2, 4}, {1, -2, 3, 0.5f, -1, 0, 2, 1});
  const auto a = testing::Values(exec_a->Run({{"X", x}}).value()[0]);
  const auto b = testing::Values(exec_b->Run({{"X", x}}).value()[0]);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 0.05);
}

TEST(QuantizeTest, ConstantNodeWeightsAreQuantizedLikeInitializers) {
  std::unique_ptr<Model> model = FromProto(testing::TinyConstantNodeModel());
  QuantizeOptions options;
  options.weights_only = true;
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->tensors.size(), 1u);
  EXPECT_EQ(out->tensors[0].name, "W");
  EXPECT_EQ(CountOps(*out->model, "Constant"), 1) << "W's Constant node is replaced, B's stays";
  EXPECT_NE(FindInitializer(*out->model, out->tensors[0].quantized_name), nullptr);
}

TEST(QuantizeTest, StaticWithoutCalibrationDataIsRefused) {
  std::unique_ptr<Model> model = FromProto(testing::TinyMatMulModel());
  QuantizeOptions options;
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(out.status().message().find("--calib"), std::string::npos);
  EXPECT_NE(out.status().message().find("--weights-only"), std::string::npos);
}

TEST(QuantizeTest, ExclusionsAreRespectedAndReported) {
  std::unique_ptr<Model> model = FromProto(testing::TinyMatMulModel());
  QuantizeOptions options;
  options.weights_only = true;
  options.exclude_nodes = {"matmul"};
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->tensors.empty());
  ASSERT_EQ(out->skipped.size(), 1u);
  EXPECT_EQ(out->skipped[0].node, "matmul");
  EXPECT_NE(out->skipped[0].reason.find("--exclude-nodes"), std::string::npos);
  options.exclude_nodes.clear();
  options.exclude_op_types = {"MatMul"};
  out = Quantize(*model, options, {});
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->tensors.empty());
  EXPECT_NE(out->skipped[0].reason.find("--exclude-op-types"), std::string::npos);
}

TEST(QuantizeTest, NanWeightIsAnErrorNamingTheTensor) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  std::string* raw = proto.mutable_graph()->mutable_initializer(0)->mutable_raw_data();
  const float nan = std::nanf("");
  std::memcpy(raw->data() + 8, &nan, 4);
  std::unique_ptr<Model> model = FromProto(proto);
  QuantizeOptions options;
  options.weights_only = true;
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(out.status().message().find("'W'"), std::string::npos) << out.status().message();
}

TEST(QuantizeTest, OpsetElevenIsConvertedForPerChannel) {
  std::unique_ptr<Model> model = FromProto(testing::TinyMatMulModel(11, 6));
  QuantizeOptions options;
  options.weights_only = true;
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->model->OpsetVersion(""), 13);
  ASSERT_FALSE(out->transformations.empty());
  EXPECT_NE(out->transformations[0].find("from 11 to 13"), std::string::npos);
  EXPECT_TRUE(out->per_channel);
  // Per-tensor at opset 11 needs no conversion.
  options.per_channel = false;
  out = Quantize(*model, options, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->model->OpsetVersion(""), 11);
  EXPECT_EQ(out->tensors[0].params.axis, -1);
}

TEST(QuantizeTest, FoldedBatchNormComputesTheSame) {
  auto model = Model::Load(testing::ModelsDir() + "/fashion_cnn.onnx");
  ASSERT_TRUE(model.ok());
  std::vector<quant::FoldedBatchNorm> folded;
  auto result = quant::FoldBatchNorms(*model.value(), &folded);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(folded.size(), 2u);
  EXPECT_EQ(CountOps(*result.value(), "BatchNormalization"), 0);
  auto npy = NpyFile::Open(testing::ModelsDir() + "/val_images.npy").value();
  Tensor x = npy->Rows(0, 8).value();
  auto a = Executor::Create(*model.value()).value()->Run({{"input", x}}).value()[0];
  auto b = Executor::Create(*result.value()).value()->Run({{"input", x}}).value()[0];
  const auto va = testing::Values(a), vb = testing::Values(b);
  double diff = 0, norm = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    diff += (va[i] - vb[i]) * (va[i] - vb[i]);
    norm += va[i] * va[i];
  }
  constexpr double kFoldTolerance = 1e-5;
  EXPECT_LT(std::sqrt(diff / norm), kFoldTolerance);
}

// Static INT8 on the sample CNN: calibrated, recorded exactly, and still
// classifying like the FP32 model.
TEST(QuantizeTest, StaticInt8OnTheSampleCnn) {
  auto model = Model::Load(testing::ModelsDir() + "/fashion_cnn.onnx");
  ASSERT_TRUE(model.ok());
  for (const char* scheme : {"int8-sym", "int8-asym"}) {
    SCOPED_TRACE(scheme);
    QuantizeOptions options;
    options.scheme = scheme;
    options.calib_paths = {testing::ModelsDir() + "/calib_images.npy"};
    options.calib_samples = 64;
    options.calib_batch = 16;
    Result<QuantizeOutcome> out = Quantize(*model.value(), options, {});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out->nodes_quantized, 4);  // 2 Conv + 2 Gemm
    EXPECT_EQ(out->activation_stats.samples, 64);
    EXPECT_GT(CountOps(*out->model, "QuantizeLinear"), 0);
    ExpectRecordsMatchModel(*out);
    int activations = 0, biases = 0;
    for (const auto& r : out->tensors) {
      activations += r.role == TensorRole::kActivation;
      biases += r.role == TensorRole::kBias;
      if (r.role == TensorRole::kActivation && r.shares_params_with.empty()) {
        ASSERT_TRUE(r.range.has_value());
        EXPECT_LE(r.range->chosen_min, 0.0f);
        EXPECT_GE(r.range->chosen_max, 0.0f);
      }
    }
    EXPECT_GE(activations, 4);
    EXPECT_EQ(biases, 4);
    auto npy = NpyFile::Open(testing::ModelsDir() + "/val_images.npy").value();
    Tensor x = npy->Rows(0, 200).value();
    auto ref = Executor::Create(*model.value()).value()->Run({{"input", x}}).value()[0];
    auto got = Executor::Create(*out->model).value()->Run({{"input", x}}).value()[0];
    int agree = 0;
    for (int i = 0; i < 200; ++i) {
      const float* r = ref.data<float>() + i * 10;
      const float* g = got.data<float>() + i * 10;
      agree += std::max_element(r, r + 10) - r == std::max_element(g, g + 10) - g;
    }
    constexpr int kMinAgreement = 194;  // 97 % of 200
    EXPECT_GE(agree, kMinAgreement);
  }
}

// An outcome's activation statistics, passed back, replace calibration:
// the second run succeeds although its calibration file is gone, and gives
// the same model bytes as the first run's calibration would.
TEST(QuantizeStatsTest, SecondRunReusesTheFirstRunsStatistics) {
  auto model = Model::Load(testing::ModelsDir() + "/fashion_cnn.onnx");
  ASSERT_TRUE(model.ok());
  testing::TempDir dir;
  auto npy = NpyFile::Open(testing::ModelsDir() + "/calib_images.npy").value();
  testing::WriteFile(dir.File("calib.npy"), EncodeNpy(npy->Rows(0, 16).value()));
  QuantizeOptions options;
  options.calib_paths = {dir.File("calib.npy")};
  options.exclude_nodes = {"/fc2/Gemm"};
  Result<QuantizeOutcome> direct = Quantize(*model.value(), options, {});
  ASSERT_TRUE(direct.ok()) << direct.status().ToString();
  options.exclude_nodes.clear();
  Result<QuantizeOutcome> first = Quantize(*model.value(), options, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_FALSE(first->activation_stats.empty());
  std::remove(dir.File("calib.npy").c_str());
  options.exclude_nodes = {"/fc2/Gemm"};  // needs a subset of the first run's ranges
  options.activation_stats = first->activation_stats;
  Result<QuantizeOutcome> second = Quantize(*model.value(), options, {});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(second->activation_stats.samples, 16);
  EXPECT_EQ(second->model->proto().SerializeAsString(), direct->model->proto().SerializeAsString());
  // Statistics made for another calibration method are not reused: the
  // missing file is an error again.
  options.calibration.method = "percentile";
  EXPECT_FALSE(Quantize(*model.value(), options, {}).ok());
  // Nor are they without statistics.
  options.calibration.method = "minmax";
  options.activation_stats.reset();
  EXPECT_FALSE(Quantize(*model.value(), options, {}).ok());
}

// X -> MaxPool -> Conv -> Relu -> GlobalAveragePool -> Y.
onnx::ModelProto PoolConvReluGapModel() {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("pool_conv_relu_gap");
  *g->add_input() = testing::FloatValueInfo("X", {1, 2, 8, 8});
  *g->add_output() = testing::FloatValueInfo("Y", {1, 4, 1, 1});
  *g->add_initializer() = testing::RandomFloatTensor("W", {4, 2, 3, 3}, 3);
  auto add = [&](const std::string& op, std::vector<std::string> in, const std::string& out) {
    onnx::NodeProto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(op);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  };
  onnx::NodeProto* pool = add("MaxPool", {"X"}, "P");
  onnx::AttributeProto* k = pool->add_attribute();
  k->set_name("kernel_shape");
  k->set_type(onnx::AttributeProto::INTS);
  k->add_ints(2);
  k->add_ints(2);
  add("Conv", {"P", "W"}, "C");
  add("Relu", {"C"}, "R");
  add("GlobalAveragePool", {"R"}, "Y");
  return m;
}

const onnx::NodeProto& NodeNamed(const Model& model, const std::string& name) {
  for (const auto& n : model.proto().graph().node()) {
    if (n.name() == name) return n;
  }
  ADD_FAILURE() << "no node " << name;
  return model.proto().graph().node(0);
}

// A quantized Conv's output is quantized even though its reader
// (GlobalAveragePool) is not, so runtimes can fuse DQ->Conv->Q; a MaxPool
// fed by a float producer stays float, the QDQ sits before the Conv.
TEST(QuantizeTest, ConvOutputIsQuantizedAndFloatPoolingStaysFloat) {
  std::unique_ptr<Model> model = FromProto(PoolConvReluGapModel());
  testing::TempDir dir;
  std::vector<float> values(4 * 2 * 8 * 8);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.37f * static_cast<float>(i));
  testing::WriteFile(dir.File("calib.npy"), EncodeNpy(testing::Floats({4, 2, 8, 8}, values)));
  QuantizeOptions options;
  options.calib_paths = {dir.File("calib.npy")};
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // P (the Conv's input), C and R (the Relu's input shares R's parameters).
  EXPECT_EQ(CountOps(*out->model, "QuantizeLinear"), 3);
  EXPECT_EQ(NodeNamed(*out->model, "MaxPool").input(0), "X");
  const onnx::NodeProto& conv = NodeNamed(*out->model, "Conv");
  EXPECT_NE(conv.input(0).find("dequantized"), std::string::npos) << conv.input(0);
  const onnx::NodeProto& gap = NodeNamed(*out->model, "GlobalAveragePool");
  EXPECT_NE(gap.input(0).find("dequantized"), std::string::npos) << gap.input(0);
  ExpectRecordsMatchModel(*out);
}

// Per-tensor weights still quantize every bias, including those of Gemms
// with transB = 1 (B is [N, K]: N outputs, not K).
TEST(QuantizeTest, PerTensorStaticQuantizesGemmBiases) {
  auto model = Model::Load(testing::ModelsDir() + "/fashion_cnn.onnx");
  ASSERT_TRUE(model.ok());
  QuantizeOptions options;
  options.scheme = "int8-asym";
  options.per_channel = false;
  options.calib_paths = {testing::ModelsDir() + "/calib_images.npy"};
  options.calib_samples = 16;
  Result<QuantizeOutcome> out = Quantize(*model.value(), options, {});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  int biases = 0;
  for (const auto& r : out->tensors) biases += r.role == TensorRole::kBias;
  EXPECT_EQ(biases, 4);  // 2 Conv + 2 Gemm
  EXPECT_TRUE(out->skipped.empty()) << out->skipped.front().tensor << ": " << out->skipped.front().reason;
  ExpectRecordsMatchModel(*out);
}

}  // namespace
}  // namespace pq
