// Direct tests of src/quant/qdq_writer.cc: the writer stores exactly the
// numbers of a hand-made QdqPlan, rewires exactly the listed uses, drops the
// FP32 constants left unread and keeps the graph topologically ordered.
#include "quant/qdq_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "onnx/onnx_pb.h"
#include "testutil/model_builder.h"

namespace pq::quant {
namespace {

constexpr int32_t kUint8 = 2;
constexpr int32_t kInt8 = 3;
constexpr int32_t kInt32 = 6;

const onnx::TensorProto* Initializer(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& t : m.graph().initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

const onnx::NodeProto* NodeNamed(const onnx::ModelProto& m, const std::string& name) {
  for (const auto& n : m.graph().node()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

std::vector<float> FloatsOf(const onnx::TensorProto& t) {
  std::vector<float> v(t.raw_data().size() / 4);
  std::memcpy(v.data(), t.raw_data().data(), v.size() * 4);
  return v;
}

// Every node input is a graph input, an initializer or an earlier output.
void ExpectTopological(const onnx::ModelProto& m) {
  std::set<std::string> known = {""};
  for (const auto& in : m.graph().input()) known.insert(in.name());
  for (const auto& t : m.graph().initializer()) known.insert(t.name());
  for (const auto& n : m.graph().node()) {
    for (const auto& in : n.input()) EXPECT_EQ(known.count(in), 1u) << n.name() << " reads " << in;
    for (const auto& out : n.output()) known.insert(out);
  }
}

int64_t AxisOf(const onnx::NodeProto& n) {
  for (const auto& a : n.attribute()) {
    if (a.name() == "axis") return a.i();
  }
  return -1;
}

// TinyMatMulModel: matmul(X, W[4,3]) -> XW; add(XW, B) -> Y.
QdqPlan TinyPlan() {
  QdqPlan plan;
  ConstantRewrite w;
  w.tensor = "W";
  w.shape = {4, 3};
  w.params = {kInt8, {0.5f, 0.25f, 0.125f}, {0, -1, 2}, 1, 0};
  w.data = std::string("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x80", 12);
  w.uses = {{0, 1}};
  plan.constants.push_back(w);
  plan.activations.push_back({"X", {kUint8, {0.1f}, {128}, -1, 0}, {{0, 0}}});
  plan.activations.push_back({"XW", {kUint8, {0.2f}, {3}, -1, 0}, {{1, 0}}});
  return plan;
}

TEST(QdqWriterTest, WritesExactlyThePlannedNumbers) {
  std::vector<WrittenNames> written;
  auto out = WriteQdq(testing::TinyMatMulModel(), TinyPlan(), &written);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const onnx::ModelProto& m = *out.value();
  ASSERT_EQ(written.size(), 3u);

  const onnx::TensorProto* q = Initializer(m, written[0].quantized);
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->data_type(), kInt8);
  EXPECT_EQ(std::vector<int64_t>(q->dims().begin(), q->dims().end()), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(q->raw_data(), TinyPlan().constants[0].data);
  const onnx::TensorProto* scale = Initializer(m, written[0].scale);
  ASSERT_NE(scale, nullptr);
  EXPECT_EQ(scale->dims_size(), 1);
  EXPECT_EQ(FloatsOf(*scale), (std::vector<float>{0.5f, 0.25f, 0.125f}));
  const onnx::TensorProto* zp = Initializer(m, written[0].zero_point);
  ASSERT_NE(zp, nullptr);
  EXPECT_EQ(zp->data_type(), kInt8);
  EXPECT_EQ(zp->raw_data(), std::string("\x00\xff\x02", 3));

  const onnx::TensorProto* x_scale = Initializer(m, written[1].scale);
  const onnx::TensorProto* x_zp = Initializer(m, written[1].zero_point);
  ASSERT_NE(x_scale, nullptr);
  ASSERT_NE(x_zp, nullptr);
  EXPECT_EQ(x_scale->dims_size(), 0) << "per-tensor parameters are scalars";
  EXPECT_EQ(FloatsOf(*x_scale), (std::vector<float>{0.1f}));
  EXPECT_EQ(x_zp->data_type(), kUint8);
  EXPECT_EQ(x_zp->raw_data(), std::string("\x80", 1));
  EXPECT_EQ(FloatsOf(*Initializer(m, written[2].scale)), (std::vector<float>{0.2f}));
  EXPECT_EQ(Initializer(m, written[2].zero_point)->raw_data(), std::string("\x03", 1));

  // DequantizeLinear of W: per-channel on axis 1; activations: per tensor.
  int dq = 0, ql = 0;
  for (const auto& n : m.graph().node()) {
    if (n.op_type() == "DequantizeLinear" && n.input(0) == written[0].quantized) {
      EXPECT_EQ(AxisOf(n), 1);
      EXPECT_EQ(n.output(0), written[0].dequantized);
    } else if (n.op_type() == "DequantizeLinear" || n.op_type() == "QuantizeLinear") {
      EXPECT_EQ(AxisOf(n), -1) << n.name();
    }
    dq += n.op_type() == "DequantizeLinear";
    ql += n.op_type() == "QuantizeLinear";
  }
  EXPECT_EQ(dq, 3);
  EXPECT_EQ(ql, 2);
  EXPECT_EQ(m.graph().node_size(), 2 + 1 + 2 + 2);
}

TEST(QdqWriterTest, RewiresTheListedUsesAndReturnsNamesInPlanOrder) {
  std::vector<WrittenNames> written;
  auto out = WriteQdq(testing::TinyMatMulModel(), TinyPlan(), &written);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const onnx::ModelProto& m = *out.value();
  ASSERT_EQ(written.size(), 3u);
  EXPECT_EQ(written[0].tensor, "W") << "constants first";
  EXPECT_EQ(written[1].tensor, "X");
  EXPECT_EQ(written[2].tensor, "XW");
  const onnx::NodeProto* matmul = NodeNamed(m, "matmul");
  const onnx::NodeProto* add = NodeNamed(m, "add");
  ASSERT_NE(matmul, nullptr);
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(matmul->input(0), written[1].dequantized);
  EXPECT_EQ(matmul->input(1), written[0].dequantized);
  EXPECT_EQ(matmul->output(0), "XW") << "outputs keep their names";
  EXPECT_EQ(add->input(0), written[2].dequantized);
  EXPECT_EQ(add->input(1), "B") << "B was not in the plan";
  EXPECT_EQ(Initializer(m, "W"), nullptr) << "W is read by nobody now";
  EXPECT_NE(Initializer(m, "B"), nullptr);
  ExpectTopological(m);
  // XW's QuantizeLinear comes right after its producer, before the Add.
  int matmul_at = -1, q_at = -1, add_at = -1;
  for (int i = 0; i < m.graph().node_size(); ++i) {
    const auto& n = m.graph().node(i);
    if (n.name() == "matmul") matmul_at = i;
    if (n.name() == "add") add_at = i;
    if (n.op_type() == "QuantizeLinear" && n.input(0) == "XW") q_at = i;
  }
  EXPECT_EQ(q_at, matmul_at + 1);
  EXPECT_LT(q_at, add_at);
}

TEST(QdqWriterTest, ConstantStillReadElsewhereIsKept) {
  onnx::ModelProto model = testing::TinyMatMulModel();
  // A second reader of W that the plan does not list.
  onnx::NodeProto* extra = model.mutable_graph()->add_node();
  extra->set_name("extra");
  extra->set_op_type("Identity");
  extra->add_input("W");
  extra->add_output("W_copy");
  QdqPlan plan = TinyPlan();
  plan.activations.clear();
  std::vector<WrittenNames> written;
  auto out = WriteQdq(model, plan, &written);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(Initializer(*out.value(), "W"), nullptr);
  EXPECT_EQ(NodeNamed(*out.value(), "extra")->input(0), "W");
  EXPECT_EQ(NodeNamed(*out.value(), "matmul")->input(1), written[0].dequantized);
}

TEST(QdqWriterTest, RemovesTheGraphInputEntryOfARewrittenInitializer) {
  onnx::ModelProto model = testing::TinyMatMulModel(13, 3);
  *model.mutable_graph()->add_input() = testing::FloatValueInfo("W", {4, 3});
  *model.mutable_graph()->add_input() = testing::FloatValueInfo("B", {3});
  QdqPlan plan = TinyPlan();
  plan.activations.clear();
  std::vector<WrittenNames> written;
  auto out = WriteQdq(model, plan, &written);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<std::string> inputs;
  for (const auto& in : out.value()->graph().input()) inputs.push_back(in.name());
  EXPECT_EQ(inputs, (std::vector<std::string>{"X", "B"}));
}

TEST(QdqWriterTest, RemovesAConstantNodeLeftWithoutAReader) {
  // const_W, const_B, matmul (index 2), add.
  QdqPlan plan = TinyPlan();
  plan.activations.clear();
  plan.constants[0].uses = {{2, 1}};
  std::vector<WrittenNames> written;
  auto out = WriteQdq(testing::TinyConstantNodeModel(), plan, &written);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const onnx::ModelProto& m = *out.value();
  EXPECT_EQ(NodeNamed(m, "const_W"), nullptr);
  EXPECT_NE(NodeNamed(m, "const_B"), nullptr);
  EXPECT_EQ(NodeNamed(m, "matmul")->input(1), written[0].dequantized);
  ExpectTopological(m);
}

TEST(QdqWriterTest, Int32BiasZeroPointsTakeFourBytes) {
  QdqPlan plan;
  ConstantRewrite b;
  b.tensor = "B";
  b.shape = {3};
  b.params = {kInt32, {0.01f, 0.02f, 0.03f}, {0, 0, 0}, 0, 0};
  const int32_t values[3] = {50, -25, 100};
  b.data.assign(reinterpret_cast<const char*>(values), sizeof values);
  b.uses = {{1, 1}};
  plan.constants.push_back(b);
  std::vector<WrittenNames> written;
  auto out = WriteQdq(testing::TinyMatMulModel(), plan, &written);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const onnx::TensorProto* zp = Initializer(*out.value(), written[0].zero_point);
  ASSERT_NE(zp, nullptr);
  EXPECT_EQ(zp->data_type(), kInt32);
  EXPECT_EQ(zp->raw_data().size(), 3u * 4);
  EXPECT_EQ(Initializer(*out.value(), written[0].quantized)->raw_data(),
            std::string(reinterpret_cast<const char*>(values), sizeof values));
}

TEST(QdqWriterTest, AddedNamesDoNotCollideWithExistingOnes) {
  onnx::ModelProto model = testing::TinyMatMulModel();
  *model.mutable_graph()->add_initializer() = testing::FloatTensor("W_scale", {1}, {7.0f});
  QdqPlan plan = TinyPlan();
  plan.activations.clear();
  std::vector<WrittenNames> written;
  auto out = WriteQdq(model, plan, &written);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_NE(written[0].scale, "W_scale");
  EXPECT_EQ(FloatsOf(*Initializer(*out.value(), "W_scale")), (std::vector<float>{7.0f}));
  EXPECT_EQ(FloatsOf(*Initializer(*out.value(), written[0].scale)),
            (std::vector<float>{0.5f, 0.25f, 0.125f}));
}

TEST(QdqWriterTest, AUseThatDoesNotMatchTheGraphIsAnInternalError) {
  for (const Use& bad : {Use{1, 1}, Use{9, 0}, Use{0, 5}}) {
    QdqPlan plan = TinyPlan();
    plan.constants[0].uses = {bad};  // input 1 of add is B, not W; no node 9; no input 5
    std::vector<WrittenNames> written;
    auto out = WriteQdq(testing::TinyMatMulModel(), plan, &written);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kInternal);
    EXPECT_NE(out.status().message().find("'W'"), std::string::npos) << out.status().message();
  }
}

}  // namespace
}  // namespace pq::quant
