// End-to-end tests of src/quant/quantize.cc on float16 and bfloat16 models
// (issue 15 item 3): every weight read as float32 and quantized, the
// dequantized side kept in the model's float type (scales of that type,
// opset 19 for QuantizeLinear/DequantizeLinear); bfloat16 the same way, run
// by pq's executor.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/data_type.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "quant/float_type.h"
#include "testutil/model_builder.h"
#include "testutil/run_model.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::RelativeL2;

constexpr int64_t kK = 64, kHidden = 32, kN = 16, kSamples = 8;

// X [batch, 64] -> MatMul W1 [64, 32] -> Relu -> MatMul W2 [32, 16] -> Y, every
// value of `dtype` (fixed-seed weights in [-1, 1) rounded to it), opset 17.
onnx::ModelProto HalfMatMulModel(int32_t dtype) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("half");
  int seed = 1;
  for (const auto& [name, rows, cols] : {std::tuple<const char*, int64_t, int64_t>{"W1", kK, kHidden},
                                         {"W2", kHidden, kN}}) {
    const onnx::TensorProto f = testing::RandomFloatTensor(name, {rows, cols}, seed++);
    std::vector<float> values(static_cast<size_t>(rows * cols));
    std::memcpy(values.data(), f.raw_data().data(), values.size() * sizeof(float));
    onnx::TensorProto* w = graph->add_initializer();
    w->set_name(name);
    w->set_data_type(dtype);
    w->add_dims(rows);
    w->add_dims(cols);
    w->set_raw_data(quant::FloatRaw(values, dtype));
  }
  auto add = [&](const char* op, std::vector<std::string> in, const char* out) {
    onnx::NodeProto* n = graph->add_node();
    n->set_op_type(op);
    n->set_name(std::string(op) + "_" + out);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
  };
  add("MatMul", {"X", "W1"}, "H");
  add("Relu", {"H"}, "R");
  add("MatMul", {"R", "W2"}, "Y");
  for (auto [info, name, dim] : {std::tuple<onnx::ValueInfoProto*, const char*, int64_t>{graph->add_input(), "X", kK},
                                 {graph->add_output(), "Y", kN}}) {
    *info = testing::FloatValueInfo(name, {-1, dim});
    info->mutable_type()->mutable_tensor_type()->set_elem_type(dtype);
  }
  return model;
}

std::unique_ptr<Model> FromProto(const onnx::ModelProto& proto) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "half.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

// kSamples rows of X, fixed values in [-1, 1).
std::vector<float> RowsOfX() {
  std::vector<float> x(static_cast<size_t>(kSamples * kK));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 37) % 101) / 50.0f - 1.0f;
  return x;
}

// An .npy of RowsOfX() in float16.
std::string Float16Npy() {
  std::string header = "{'descr': '<f2', 'fortran_order': False, 'shape': (" + std::to_string(kSamples) + ", " +
                       std::to_string(kK) + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = std::string("\x93NUMPY\x01\x00", 8);
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>(header.size() >> 8);
  out += header;
  return out + quant::FloatRaw(RowsOfX(), kFloat16);
}

const onnx::TensorProto* Initializer(const Model& model, const std::string& name) {
  for (const auto& t : model.proto().graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

int CountOps(const Model& model, const std::string& op) {
  int n = 0;
  for (const auto& node : model.proto().graph().node()) n += node.op_type() == op;
  return n;
}

// Every record's scale initializer is float16; the graph output stays float16.
void ExpectFloat16Side(const QuantizeOutcome& outcome) {
  for (const QuantizedTensorRecord& r : outcome.tensors) {
    SCOPED_TRACE(r.name);
    const onnx::TensorProto* scale = Initializer(*outcome.model, r.scale_name);
    ASSERT_NE(scale, nullptr);
    EXPECT_EQ(scale->data_type(), kFloat16);
  }
  EXPECT_EQ(outcome.model->proto().graph().output(0).type().tensor_type().elem_type(), kFloat16);
}

TEST(HalfQuantizeTest, WeightsOnlyInt8QuantizesEveryFloat16Weight) {
  std::unique_ptr<Model> model = FromProto(HalfMatMulModel(kFloat16));
  QuantizeOptions options;
  options.weights_only = true;
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->nodes_quantized, 2);
  ASSERT_EQ(outcome->tensors.size(), 2u);
  for (const SkippedRecord& s : outcome->skipped) EXPECT_FALSE(s.weight_not_taken) << s.reason;
  ExpectFloat16Side(*outcome);
  EXPECT_EQ(CountOps(*outcome->model, "DequantizeLinear"), 2);
  EXPECT_EQ(outcome->model->OpsetVersion(""), quant::kHalfQdqOpset);
  EXPECT_EQ(Initializer(*outcome->model, "W1"), nullptr);  // the float16 weight is gone
}

TEST(HalfQuantizeTest, StaticInt8QuantizesFloat16ActivationsWithFloat16Scales) {
  std::unique_ptr<Model> model = FromProto(HalfMatMulModel(kFloat16));
  testing::TempDir dir;
  testing::WriteFile(dir.File("x.npy"), Float16Npy());
  QuantizeOptions options;
  options.calib_paths = {dir.File("x.npy")};
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  int activations = 0;
  for (const QuantizedTensorRecord& r : outcome->tensors) activations += r.role == TensorRole::kActivation;
  EXPECT_GE(activations, 2);
  ExpectFloat16Side(*outcome);
  EXPECT_EQ(CountOps(*outcome->model, "QuantizeLinear"), activations);
}

TEST(HalfQuantizeTest, MatMulNBitsScalesTakeAsType) {
  std::unique_ptr<Model> model = FromProto(HalfMatMulModel(kFloat16));
  QuantizeOptions options;
  options.scheme = "int4-sym";
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(CountOps(*outcome->model, "MatMulNBits"), 2);
  ExpectFloat16Side(*outcome);
  // The report counts the float16 scales at 2 bytes, as written.
  for (const QuantizedTensorRecord& r : outcome->tensors) {
    const onnx::TensorProto* codes = Initializer(*outcome->model, r.quantized_name);
    const onnx::TensorProto* scales = Initializer(*outcome->model, r.scale_name);
    ASSERT_TRUE(codes != nullptr && scales != nullptr) << r.name;
    EXPECT_EQ(r.stored_bytes, static_cast<int64_t>(codes->raw_data().size() + scales->raw_data().size())) << r.name;
  }
  // No QuantizeLinear/DequantizeLinear of float16 written: the opset stays.
  EXPECT_EQ(outcome->model->OpsetVersion(""), 17);
}

TEST(HalfQuantizeTest, DynamicInt8CastsAroundTheFloat32Product) {
  std::unique_ptr<Model> model = FromProto(HalfMatMulModel(kFloat16));
  QuantizeOptions options;
  options.scheme = "int8-dynamic";
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(CountOps(*outcome->model, "MatMulInteger"), 2);
  // Per product: A to float32, the int32 product to float32, Y back to float16.
  EXPECT_EQ(CountOps(*outcome->model, "Cast"), 6);
  EXPECT_EQ(outcome->model->proto().graph().output(0).type().tensor_type().elem_type(), kFloat16);
}

// Y of `model` on RowsOfX() (float32 feed, as the executor takes
// float16 and bfloat16 inputs).
std::vector<float> RunOnRows(const Model& model) {
  return testing::RunOnFloatInput(model, "X", {kSamples, kK}, RowsOfX());
}

// bfloat16 weights are quantized by every scheme form, scales written in
// bfloat16, and the result, run by pq's executor, stays near the bfloat16
// original (ONNX Runtime's CPU provider cannot run either: it has no bfloat16
// MatMul).
struct Bfloat16Case {
  const char* name;
  const char* scheme;
  bool weights_only;
  const char* int4_format;
  const char* op;      // the op the weights end up in, at least twice
  int32_t scale_type;  // of the weight scales: bfloat16, or float32 where the product is float32
  double max_rel_l2;   // Y against the bfloat16 original
};

class Bfloat16QuantizeTest : public ::testing::TestWithParam<Bfloat16Case> {};

TEST_P(Bfloat16QuantizeTest, QuantizesEveryWeightAndKeepsBfloat16) {
  const Bfloat16Case& c = GetParam();
  std::unique_ptr<Model> model = FromProto(HalfMatMulModel(kBfloat16));
  testing::TempDir dir;
  testing::WriteFile(dir.File("x.npy"), Float16Npy());
  QuantizeOptions options;
  options.scheme = c.scheme;
  options.weights_only = c.weights_only;
  options.int4_format = c.int4_format;
  if (!c.weights_only) options.calib_paths = {dir.File("x.npy")};
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  for (const SkippedRecord& s : outcome->skipped) EXPECT_FALSE(s.weight_not_taken) << s.reason;
  EXPECT_EQ(outcome->nodes_quantized, 2);
  EXPECT_GE(CountOps(*outcome->model, c.op), 2);
  for (const QuantizedTensorRecord& r : outcome->tensors) {
    if (r.role != TensorRole::kWeight) continue;
    const onnx::TensorProto* scale = Initializer(*outcome->model, r.scale_name);
    ASSERT_NE(scale, nullptr) << r.name;
    EXPECT_EQ(scale->data_type(), c.scale_type) << r.name;
  }
  EXPECT_EQ(outcome->model->proto().graph().output(0).type().tensor_type().elem_type(), kBfloat16);
  const std::vector<float> reference = RunOnRows(*model);
  const std::vector<float> quantized = RunOnRows(*outcome->model);
  ASSERT_EQ(reference.size(), quantized.size());
  const double rel = RelativeL2(quantized, reference);
  EXPECT_LE(rel, c.max_rel_l2);
  RecordProperty("relative_l2", std::to_string(rel));
}

// int8 within 2e-2 and 4-bit within 1.5e-1 of the bfloat16 original, as the
// float16 forms are held in the ORT interop test.
INSTANTIATE_TEST_SUITE_P(
    EveryForm, Bfloat16QuantizeTest,
    ::testing::Values(Bfloat16Case{"Int8WeightsOnly", "int8-sym", true, "ort", "DequantizeLinear", kBfloat16, 2e-2},
                      Bfloat16Case{"Int8Static", "int8-sym", false, "ort", "QuantizeLinear", kBfloat16, 2e-2},
                      Bfloat16Case{"Int8Dynamic", "int8-dynamic", false, "ort", "MatMulInteger", kFloat, 2e-2},
                      Bfloat16Case{"Int4MatMulNBits", "int4-sym", true, "ort", "MatMulNBits", kBfloat16, 1.5e-1},
                      Bfloat16Case{"Int4BlockedDq", "int4-sym", true, "onnx", "DequantizeLinear", kBfloat16, 1.5e-1},
                      Bfloat16Case{"Nf4", "nf4", true, "ort", "MatMulBnb4", kBfloat16, 1.5e-1}),
    [](const ::testing::TestParamInfo<Bfloat16Case>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace pq
