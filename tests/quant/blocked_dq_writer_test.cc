// Tests of src/quant/blocked_dq_writer.cc: known-answer INT4 / UINT4 packing
// and layout of a small weight with a partial block (MatMul [K, N] and Gemm
// transB=1 [N, K]), that pq's executor reads back q * scale / (q - zp) *
// scale, and end to end through Quantize() that --int4-format onnx computes
// what the MatMulNBits form computes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "exec/kernel_test_util.h"
#include "quant/sine_input_output.h"
#include "quant/two_layer_model.h"
#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "pq/quantize.h"
#include "quant/blocked_dq_writer.h"
#include "quant/blockwise_record.h"
#include "quant/int4_blockwise.h"
#include "quant/qdq_writer.h"
#include "testutil/model_builder.h"

namespace pq {
namespace {

constexpr int64_t kK = 5, kN = 2, kBlock = 4;
// Same codes and scales in both forms: only summation order may differ.
constexpr double kSameWeightsRelL2 = 1e-6;

// Symmetric case, stored [K, N] (rows k). Seen as [N, K]: row 0 = 7 -7 3 1 |
// 2, row 1 = -1 2 0 -7 | 1; scales 1, 2/7 and 1, 1/7; q 7 -7 3 1 | 7 and
// -1 2 0 -7 | 7.
const std::vector<float> kSymKn = {7, -1, -7, 2, 3, 0, 1, -7, 2, 1};
// Asymmetric case, stored [K, N]. Row 0 = 0 15 5 10 | -3 (scale 1, zp 0;
// scale 3/15, zp 15), row 1 = -5 10 0 5 | 6 (scale 1, zp 5; scale 6/15, zp 0).
const std::vector<float> kAsymKn = {0, -5, 15, 10, 5, 0, 10, 5, -3, 6};

std::vector<float> Transpose(const std::vector<float>& v, int64_t rows, int64_t cols) {
  std::vector<float> out(v.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = v[r * cols + c];
  }
  return out;
}

std::string Bytes(std::initializer_list<unsigned> bytes) {
  std::string s;
  for (unsigned b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

std::vector<float> FloatsOf(const onnx::TensorProto& t) {
  std::vector<float> v(t.raw_data().size() / 4);
  std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
  return v;
}

const onnx::TensorProto* Init(const onnx::ModelProto& model, const std::string& name) {
  for (const auto& t : model.graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

int64_t Attr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return -999;
}

// Y = MatMul(X, W) (W stored [K, N]) or Gemm(X, W, transB = 1) (W [N, K]),
// opset 21, with W written by the blocked DequantizeLinear writer.
struct Written {
  std::unique_ptr<onnx::ModelProto> model;
  quant::WrittenNames names;
};
Written WriteOne(const std::vector<float>& kn, bool symmetric, bool gemm) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(21);
  auto* g = model.mutable_graph();
  *g->add_input() = testing::FloatValueInfo("X", {-1, kK});
  *g->add_output() = testing::FloatValueInfo("Y", {-1, kN});
  const std::vector<float> nk = Transpose(kn, kK, kN);
  *g->add_initializer() =
      testing::FloatTensor("W", gemm ? std::vector<int64_t>{kN, kK} : std::vector<int64_t>{kK, kN},
                           gemm ? nk : kn);
  auto* node = g->add_node();
  node->set_op_type(gemm ? "Gemm" : "MatMul");
  node->set_name("consumer");
  node->add_input("X");
  node->add_input("W");
  node->add_output("Y");
  if (gemm) {
    auto* a = node->add_attribute();
    a->set_name("transB");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(1);
  }
  quant::Int4Weight q = quant::QuantizeInt4Blocks(nk.data(), kN, kK, kBlock, symmetric);
  quant::ConstantRewrite c;
  c.tensor = "W";
  c.shape = gemm ? std::vector<int64_t>{kN, kK} : std::vector<int64_t>{kK, kN};
  c.uses = {{0, 1}};
  c.encoding = quant::WeightEncoding::kBlockedDequantizeLinear;
  c.transposed = !gemm;
  quant::BlockwisePacked p;
  p.n = kN;
  p.k = kK;
  p.block_size = kBlock;
  p.codes = q.packed;
  p.scales = q.scales;
  p.zero_points = q.packed_zero_points;
  c.blockwise = std::move(p);
  quant::QdqPlan plan;
  plan.constants.push_back(std::move(c));
  std::vector<quant::WrittenNames> written;
  Result<std::unique_ptr<onnx::ModelProto>> out = quant::WriteQdq(model, std::move(plan), &written);
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(written.size(), 1u);
  return {std::move(out).value(), written.at(0)};
}

const onnx::NodeProto& OnlyDequantize(const onnx::ModelProto& model) {
  const onnx::NodeProto* found = nullptr;
  int count = 0;
  for (const auto& n : model.graph().node()) {
    if (n.op_type() == "DequantizeLinear") {
      found = &n;
      ++count;
    }
  }
  EXPECT_EQ(count, 1);
  return *found;
}

// Runs the written model on X = I_K: Y is the dequantized weight as [K, N].
std::vector<double> DequantizedKn(const onnx::ModelProto& proto) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "written.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  auto exec = Executor::Create(*model.value());
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  std::vector<float> eye(kK * kK, 0.0f);
  for (int64_t i = 0; i < kK; ++i) eye[i * kK + i] = 1.0f;
  auto out = exec.value()->Run({{"X", testing::Floats({kK, kK}, eye)}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return testing::Values(out.value()[0]);
}

TEST(BlockedDqInt4Test, SymmetricMatMulWeightIsInt4KnByAxis0) {
  Written w = WriteOne(kSymKn, true, false);
  const onnx::TensorProto* q = Init(*w.model, w.names.quantized);
  const onnx::TensorProto* scale = Init(*w.model, w.names.scale);
  ASSERT_TRUE(q != nullptr && scale != nullptr);
  EXPECT_EQ(Init(*w.model, "W"), nullptr) << "the FP32 weight is gone";
  EXPECT_TRUE(w.names.zero_point.empty()) << "symmetric: no zero point (default 0)";
  EXPECT_EQ(q->data_type(), 22);
  EXPECT_EQ(std::vector<int64_t>(q->dims().begin(), q->dims().end()), (std::vector<int64_t>{kK, kN}));
  // [K, N] row-major: 7 -1 | -7 2 | 3 0 | 1 -7 | 7 7, first in the low nibble.
  EXPECT_EQ(q->raw_data(), Bytes({0xF7, 0x29, 0x03, 0x91, 0x77}));
  EXPECT_EQ(std::vector<int64_t>(scale->dims().begin(), scale->dims().end()),
            (std::vector<int64_t>{2, kN}));
  EXPECT_EQ(FloatsOf(*scale), (std::vector<float>{1.0f, 1.0f, 2.0f / 7.0f, 1.0f / 7.0f}));
  const onnx::NodeProto& dq = OnlyDequantize(*w.model);
  EXPECT_EQ(dq.input_size(), 2);
  EXPECT_EQ(Attr(dq, "axis"), 0);
  EXPECT_EQ(Attr(dq, "block_size"), kBlock);
  EXPECT_GE(w.model->ir_version(), 10);
  const std::vector<double> expected = {7, -1, -7, 2, 3, 0, 1, -7, 7 * (2.0f / 7.0f), 7 * (1.0f / 7.0f)};
  const std::vector<double> got = DequantizedKn(*w.model);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], expected[i]) << i;
}

TEST(BlockedDqInt4Test, AsymmetricMatMulWeightIsUint4WithUint4ZeroPoints) {
  Written w = WriteOne(kAsymKn, false, false);
  const onnx::TensorProto* q = Init(*w.model, w.names.quantized);
  const onnx::TensorProto* scale = Init(*w.model, w.names.scale);
  const onnx::TensorProto* zp = Init(*w.model, w.names.zero_point);
  ASSERT_TRUE(q != nullptr && scale != nullptr && zp != nullptr);
  EXPECT_EQ(q->data_type(), 21);
  EXPECT_EQ(std::vector<int64_t>(q->dims().begin(), q->dims().end()), (std::vector<int64_t>{kK, kN}));
  // Codes [K, N]: 0 0 | 15 15 | 5 5 | 10 10 | 0 15.
  EXPECT_EQ(q->raw_data(), Bytes({0x00, 0xFF, 0x55, 0xAA, 0xF0}));
  EXPECT_EQ(FloatsOf(*scale), (std::vector<float>{1.0f, 1.0f, 3.0f / 15.0f, 6.0f / 15.0f}));
  EXPECT_EQ(zp->data_type(), 21);
  EXPECT_EQ(std::vector<int64_t>(zp->dims().begin(), zp->dims().end()), (std::vector<int64_t>{2, kN}));
  EXPECT_EQ(zp->raw_data(), Bytes({0x50, 0x0F})) << "zero points 0 5 | 15 0";
  const onnx::NodeProto& dq = OnlyDequantize(*w.model);
  EXPECT_EQ(dq.input_size(), 3);
  EXPECT_EQ(Attr(dq, "axis"), 0);
  EXPECT_EQ(Attr(dq, "block_size"), kBlock);
  const std::vector<double> got = DequantizedKn(*w.model);
  const std::vector<double> expected = {0, -5, 15, 10, 5, 0, 10, 5, -15 * (3.0f / 15.0f),
                                        15 * (6.0f / 15.0f)};
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_FLOAT_EQ(got[i], expected[i]) << i;
}

TEST(BlockedDqInt4Test, GemmTransBWeightKeepsNkByAxis1) {
  Written w = WriteOne(kSymKn, true, true);
  const onnx::TensorProto* q = Init(*w.model, w.names.quantized);
  const onnx::TensorProto* scale = Init(*w.model, w.names.scale);
  ASSERT_TRUE(q != nullptr && scale != nullptr);
  EXPECT_EQ(std::vector<int64_t>(q->dims().begin(), q->dims().end()), (std::vector<int64_t>{kN, kK}));
  // [N, K] row-major: 7 -7 3 1 7 | -1 2 0 -7 7 (no padding between rows).
  EXPECT_EQ(q->raw_data(), Bytes({0x97, 0x13, 0xF7, 0x02, 0x79}));
  EXPECT_EQ(std::vector<int64_t>(scale->dims().begin(), scale->dims().end()),
            (std::vector<int64_t>{kN, 2}));
  EXPECT_EQ(FloatsOf(*scale), (std::vector<float>{1.0f, 2.0f / 7.0f, 1.0f, 1.0f / 7.0f}));
  EXPECT_EQ(Attr(OnlyDequantize(*w.model), "axis"), 1);
  const std::vector<double> got = DequantizedKn(*w.model);
  EXPECT_FLOAT_EQ(got[8], 2.0f);  // (k 4, n 0) = 7 * 2/7
  EXPECT_FLOAT_EQ(got[7], -7.0f);
}

TEST(BlockedDqInt4Test, PackNibblesPadsAnOddCount) {
  EXPECT_EQ(quant::PackNibbles({0x1, 0x2, 0xF}), Bytes({0x21, 0x0F}));
}

// ---- end to end through Quantize() ------------------------------------------

// Y = Gemm(MatMul(X, W1), W2; transB = 1), see two_layer_model.h: K = 40
// and 24 leave partial blocks of 32.
onnx::ModelProto TwoLayerModel() { return testing::TwoLayerModel(/*bias_and_scales=*/false); }

TEST(BlockedDqInt4Test, OnnxFormComputesWhatMatMulNBitsComputes) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(TwoLayerModel()), ".", "two.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  for (const char* scheme : {"int4-sym", "int4-asym"}) {
    SCOPED_TRACE(scheme);
    QuantizeOptions options;
    options.scheme = scheme;
    Result<QuantizeOutcome> ort = Quantize(*model.value(), options, {});
    options.int4_format = "onnx";
    Result<QuantizeOutcome> std_ops = Quantize(*model.value(), options, {});
    ASSERT_TRUE(ort.ok()) << ort.status().ToString();
    ASSERT_TRUE(std_ops.ok()) << std_ops.status().ToString();
    const onnx::ModelProto& written = std_ops->model->proto();
    EXPECT_EQ(std_ops->model->OpsetVersion(""), 21);
    EXPECT_GE(written.ir_version(), 10);
    for (const auto& o : written.opset_import()) EXPECT_TRUE(o.domain().empty()) << o.domain();
    int dq = 0, nbits = 0;
    for (const auto& n : written.graph().node()) {
      dq += n.op_type() == "DequantizeLinear";
      nbits += n.op_type() == "MatMulNBits";
    }
    EXPECT_EQ(dq, 2);
    EXPECT_EQ(nbits, 0);
    ASSERT_EQ(std_ops->transformations.size(), 1u);
    EXPECT_EQ(std_ops->transformations[0],
              "upgraded the default-domain opset from 17 to 21 (pq) for blocked "
              "DequantizeLinear; no node needed rewriting");
    ASSERT_EQ(std_ops->tensors.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      const QuantizedTensorRecord& r = std_ops->tensors[i];
      SCOPED_TRACE(r.name);
      EXPECT_EQ(r.written_form, "DequantizeLinear");
      EXPECT_EQ(r.storage_type, std::string(scheme) == "int4-sym" ? "int4" : "uint4");
      EXPECT_EQ(r.params.axis, r.name == "W1" ? 0 : 1);
      const onnx::TensorProto* scale = Init(written, r.scale_name);
      ASSERT_NE(scale, nullptr);
      EXPECT_EQ(FloatsOf(*scale), r.params.scale) << "recorded scale = written scale";
      const onnx::TensorProto* q = Init(written, r.quantized_name);
      ASSERT_NE(q, nullptr);
      EXPECT_EQ(static_cast<int64_t>(q->raw_data().size()), (r.shape[0] * r.shape[1] + 1) / 2);
      EXPECT_EQ(std::vector<int64_t>(q->dims().begin(), q->dims().end()), r.shape);
      EXPECT_EQ(r.error->mse, ort->tensors[i].error->mse) << "same codes, same error";
    }
    const std::vector<double> a = testing::OutputOnSineInput(*ort->model), b = testing::OutputOnSineInput(*std_ops->model);
    double diff = 0, norm = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      diff += (a[i] - b[i]) * (a[i] - b[i]);
      norm += a[i] * a[i];
    }
    EXPECT_LT(std::sqrt(diff / norm), kSameWeightsRelL2);
  }
}

TEST(BlockedDqInt4Test, UnknownInt4FormatIsRefused) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(TwoLayerModel()), ".", "two.onnx");
  ASSERT_TRUE(model.ok());
  QuantizeOptions options;
  options.scheme = "int4-sym";
  options.int4_format = "gguf";
  Result<QuantizeOutcome> out = Quantize(*model.value(), options, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace pq
