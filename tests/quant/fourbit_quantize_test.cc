// End-to-end tests of the blockwise 4-bit schemes through Quantize()
// (src/quant/quantize.cc, blockwise_writer.cc, nf4_scheme.cc,
// int4_schemes.cc): what is written for each form, that the records hold
// exactly the values in the model, skipped weights and their reasons,
// fallback, double quantization, and errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "exec/kernel_test_util.h"
#include "quant/sine_input_output.h"
#include "quant/two_layer_model.h"
#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "pq/quantize.h"
#include "testutil/model_builder.h"

namespace pq {
namespace {

// Relative L2 between the two forms of one NF4 weight set (same codes, same
// absmax: only float summation order differs).
constexpr double kSameWeightsRelL2 = 1e-5;
// Relative L2 of the NF4 model's output against FP32 on this random model.
constexpr double kMaxNf4RelL2 = 0.15;

// The model with C, alpha and beta (see two_layer_model.h): W1 has 15 blocks
// of 64, W2 3 blocks of 64 and a partial one.
onnx::ModelProto TwoLayerModel(float poison = 0.0f) {
  return testing::TwoLayerModel(/*bias_and_scales=*/true, poison);
}

std::unique_ptr<Model> Load(const onnx::ModelProto& proto) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "two_layer.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

Result<QuantizeOutcome> QuantizeAs(const Model& model, const std::string& scheme,
                            const std::string& format = "ort", bool double_quant = false) {
  QuantizeOptions options;
  options.scheme = scheme;
  options.nf4_format = format;
  options.double_quant = double_quant;
  return Quantize(model, options, {});
}

const onnx::TensorProto* Init(const Model& model, const std::string& name) {
  for (const auto& t : model.proto().graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

std::vector<float> FloatsOf(const onnx::TensorProto& t) {
  std::vector<float> v(t.raw_data().size() / 4);
  std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
  return v;
}

int Count(const Model& model, const std::string& op) {
  int n = 0;
  for (const auto& node : model.proto().graph().node()) n += node.op_type() == op;
  return n;
}

double RelL2(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += a[i] * a[i];
  }
  return std::sqrt(diff / norm);
}

TEST(FourBitQuantizeTest, Nf4OrtWritesMatMulBnb4WithTheRecordedAbsmax) {
  auto model = Load(TwoLayerModel());
  Result<QuantizeOutcome> out = QuantizeAs(*model, "nf4");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Count(*out->model, "MatMulBnb4"), 2);
  EXPECT_EQ(Count(*out->model, "MatMul") + Count(*out->model, "Gemm"), 0);
  EXPECT_EQ(Init(*out->model, "W1"), nullptr) << "the FP32 weight is gone";
  ASSERT_EQ(out->tensors.size(), 2u);
  for (const QuantizedTensorRecord& r : out->tensors) {
    SCOPED_TRACE(r.name);
    EXPECT_EQ(r.granularity, "per-block");
    EXPECT_EQ(r.params.block_size, 64);
    EXPECT_EQ(r.storage_type, "nf4");
    EXPECT_EQ(r.written_form, "MatMulBnb4");
    const int64_t count = r.shape[0] * r.shape[1];
    EXPECT_EQ(r.params.scale.size(), static_cast<size_t>((count + 63) / 64));
    const onnx::TensorProto* absmax = Init(*out->model, r.scale_name);
    ASSERT_NE(absmax, nullptr);
    EXPECT_EQ(FloatsOf(*absmax), r.params.scale) << "recorded absmax = written absmax";
    const onnx::TensorProto* codes = Init(*out->model, r.quantized_name);
    ASSERT_NE(codes, nullptr);
    EXPECT_EQ(static_cast<int64_t>(codes->raw_data().size()), (count + 1) / 2);
    EXPECT_EQ(r.stored_bytes, (count + 1) / 2 + 4 * static_cast<int64_t>(r.params.scale.size()));
    ASSERT_EQ(r.written_nodes.size(), 1u);
    ASSERT_TRUE(r.error.has_value());
    EXPECT_GT(r.error->sqnr_db, 15.0);
  }
  // Gemm's bias is listed as left FP32 (it is added after MatMulBnb4).
  bool bias_listed = false;
  for (const SkippedRecord& s : out->skipped) bias_listed |= s.tensor == "C";
  EXPECT_TRUE(bias_listed);
  EXPECT_LT(RelL2(testing::OutputOnSineInput(*model), testing::OutputOnSineInput(*out->model)), kMaxNf4RelL2);
}

TEST(FourBitQuantizeTest, Nf4OnnxFormUsesStandardOpsAndComputesTheSame) {
  auto model = Load(TwoLayerModel());
  Result<QuantizeOutcome> ort = QuantizeAs(*model, "nf4", "ort");
  Result<QuantizeOutcome> std_ops = QuantizeAs(*model, "nf4", "onnx");
  ASSERT_TRUE(ort.ok() && std_ops.ok()) << std_ops.status().ToString();
  for (const auto& node : std_ops->model->proto().graph().node()) {
    EXPECT_TRUE(node.domain().empty()) << node.op_type() << " is not a standard op";
  }
  for (const auto& o : std_ops->model->proto().opset_import()) EXPECT_TRUE(o.domain().empty());
  EXPECT_EQ(Count(*std_ops->model, "MatMul"), 1);
  EXPECT_EQ(Count(*std_ops->model, "Gemm"), 1);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(std_ops->tensors[i].params.scale, ort->tensors[i].params.scale);
    EXPECT_EQ(std_ops->tensors[i].written_form, "decode");
    const onnx::TensorProto* absmax = Init(*std_ops->model, std_ops->tensors[i].scale_name);
    ASSERT_NE(absmax, nullptr);
    EXPECT_EQ(FloatsOf(*absmax), std_ops->tensors[i].params.scale);
  }
  EXPECT_LT(RelL2(testing::OutputOnSineInput(*ort->model), testing::OutputOnSineInput(*std_ops->model)), kSameWeightsRelL2);
}

TEST(FourBitQuantizeTest, DoubleQuantIsRecordedAndReconstructsTheAbsmax) {
  auto model = Load(TwoLayerModel());
  Result<QuantizeOutcome> out = QuantizeAs(*model, "nf4", "onnx", true);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_TRUE(out->double_quant_applied);
  for (const QuantizedTensorRecord& r : out->tensors) {
    SCOPED_TRACE(r.name);
    ASSERT_TRUE(r.double_quant.has_value());
    const auto& dq = *r.double_quant;
    const onnx::TensorProto* codes = Init(*out->model, r.scale_name);
    const onnx::TensorProto* scales = Init(*out->model, dq.scales_name);
    const onnx::TensorProto* offset = Init(*out->model, dq.offset_name);
    ASSERT_TRUE(codes != nullptr && scales != nullptr && offset != nullptr);
    EXPECT_EQ(codes->data_type(), onnx::TensorProto::INT8);
    EXPECT_EQ(FloatsOf(*scales), dq.scales);
    EXPECT_EQ(FloatsOf(*offset)[0], dq.offset);
    for (size_t i = 0; i < r.params.scale.size(); ++i) {
      const int8_t code = static_cast<int8_t>(codes->raw_data()[i]);
      EXPECT_EQ(code, dq.codes[i]);
      EXPECT_EQ(r.params.scale[i],
                static_cast<float>(code) * dq.scales[i / static_cast<size_t>(dq.block_size)] +
                    dq.offset);
    }
  }
  Result<QuantizeOutcome> plain = QuantizeAs(*model, "nf4", "onnx");
  EXPECT_LT(RelL2(testing::OutputOnSineInput(*plain->model), testing::OutputOnSineInput(*out->model)), 0.01);

  Result<QuantizeOutcome> ort = QuantizeAs(*model, "nf4", "ort", true);
  ASSERT_TRUE(ort.ok());
  EXPECT_FALSE(ort->double_quant_applied);
  ASSERT_EQ(ort->warnings.size(), 1u);
  EXPECT_NE(ort->warnings[0].find("MatMulBnb4 reads float32 absmax"), std::string::npos);
}

TEST(FourBitQuantizeTest, Int4WritesMatMulNBits) {
  auto model = Load(TwoLayerModel());
  for (const char* scheme : {"int4-sym", "int4-asym"}) {
    SCOPED_TRACE(scheme);
    Result<QuantizeOutcome> out = QuantizeAs(*model, scheme);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(Count(*out->model, "MatMulNBits"), 2);
    const QuantizedTensorRecord& w1 = out->tensors[0];
    EXPECT_EQ(w1.params.block_size, 32);
    EXPECT_EQ(w1.params.scale.size(), 24u * 2) << "N = 24 rows of K = 40: two blocks each";
    EXPECT_EQ(FloatsOf(*Init(*out->model, w1.scale_name)), w1.params.scale);
    EXPECT_EQ(w1.zero_point_name.empty(), std::string(scheme) == "int4-sym");
    EXPECT_LT(RelL2(testing::OutputOnSineInput(*model), testing::OutputOnSineInput(*out->model)), kMaxNf4RelL2);
  }
}

TEST(FourBitQuantizeTest, ConvIsSkippedOrTakenByTheFallback) {
  auto model = Model::Load(std::string(PQ_SOURCE_DIR) + "/models/fashion_vit.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  QuantizeOptions options;
  options.scheme = "nf4";
  Result<QuantizeOutcome> alone = Quantize(*model.value(), options, {});
  ASSERT_TRUE(alone.ok()) << alone.status().ToString();
  bool conv_skipped = false;
  for (const SkippedRecord& s : alone->skipped) {
    if (s.tensor == "patch_embed.weight") {
      conv_skipped = true;
      EXPECT_NE(s.reason.find("--fallback"), std::string::npos) << s.reason;
    }
  }
  EXPECT_TRUE(conv_skipped);
  EXPECT_EQ(alone->tensors.size(), 13u);

  options.fallback = "int8-sym";
  Result<QuantizeOutcome> with = Quantize(*model.value(), options, {});
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  ASSERT_EQ(with->tensors.size(), 14u);
  int int8 = 0;
  for (const QuantizedTensorRecord& r : with->tensors) int8 += r.scheme == "int8-sym";
  EXPECT_EQ(int8, 1) << "the Conv weight";
  EXPECT_EQ(Count(*with->model, "DequantizeLinear"), 1);
}

TEST(FourBitQuantizeTest, BadBlockSizeAndNanAreRefused) {
  auto model = Load(TwoLayerModel());
  QuantizeOptions options;
  options.scheme = "nf4";
  options.block_size = 48;
  Result<QuantizeOutcome> bad = Quantize(*model, options, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);

  auto poisoned = Load(TwoLayerModel(std::nanf("")));
  Result<QuantizeOutcome> nan = QuantizeAs(*poisoned, "nf4");
  ASSERT_FALSE(nan.ok());
  EXPECT_NE(nan.status().message().find("'W1'"), std::string::npos) << nan.status().ToString();
}

}  // namespace
}  // namespace pq
