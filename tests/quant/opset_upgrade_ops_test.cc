// Tests of src/quant/opset_upgrade_rules.cc, one op family at a time: a
// one-node model at the old opset is upgraded, and pq's executor runs both
// on one input. Data-movement and integer outputs must be equal; float
// results within kFloatTolerance relative L2. Set PQ_UPGRADE_DUMP=DIR to
// write each upgraded model there, then run
// tools/check_upgraded_models.py DIR (onnx.checker on each).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "exec/kernel_test_util.h"
#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "quant/opset_upgrade.h"

namespace pq {
namespace {

using testing::Floats;
using testing::MakeNode;
using testing::SetAttr;

constexpr double kFloatTolerance = 1e-6;
constexpr double kExact = 0.0;

// A model of `node` (input X: float, `x_dims` declared unless
// `declare_shape` is false; outputs: float unless listed in `int64_outputs`)
// at default-domain opset `opset`.
struct OneNode {
  OneNode(onnx::NodeProto n, int64_t o, std::vector<int64_t> dims, bool declare = true)
      : node(std::move(n)), opset(o), x_dims(std::move(dims)), declare_shape(declare) {}
  onnx::NodeProto node;
  int64_t opset;
  std::vector<int64_t> x_dims;
  bool declare_shape;
  std::vector<onnx::TensorProto> initializers;
  std::vector<int> int64_outputs;
};

onnx::ModelProto Build(const OneNode& c) {
  onnx::ModelProto m;
  m.set_ir_version(4);
  m.add_opset_import()->set_version(c.opset);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("upgrade_case");
  onnx::ValueInfoProto* x = g->add_input();
  x->set_name("X");
  auto* t = x->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  if (c.declare_shape) {
    for (int64_t d : c.x_dims) t->mutable_shape()->add_dim()->set_dim_value(d);
  }
  for (int i = 0; i < c.node.output_size(); ++i) {
    onnx::ValueInfoProto* y = g->add_output();
    y->set_name(c.node.output(i));
    bool int64 = false;
    for (int o : c.int64_outputs) int64 |= o == i;
    y->mutable_type()->mutable_tensor_type()->set_elem_type(int64 ? onnx::TensorProto::INT64
                                                                   : onnx::TensorProto::FLOAT);
  }
  for (const auto& init : c.initializers) *g->add_initializer() = init;
  *g->add_node() = c.node;
  g->mutable_node(0)->set_name("n");
  return m;
}

std::unique_ptr<Model> Load(onnx::ModelProto proto) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(std::move(proto)), ".", "t.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(model).value() : nullptr;
}

std::vector<Tensor> Run(const Model& model, const std::vector<int64_t>& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  std::vector<float> x(static_cast<size_t>(n));
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7f * static_cast<float>(i) + 0.3f) * 3;
  auto exec = Executor::Create(model);
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  if (!exec.ok()) return {};
  auto out = exec.value()->Run({{"X", Floats(dims, x)}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return out.ok() ? std::move(out).value() : std::vector<Tensor>{};
}

double RelativeL2(const std::vector<double>& a, const std::vector<double>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i] - b[i]) * (a[i] - b[i]);
    norm += a[i] * a[i];
  }
  return norm == 0 ? std::sqrt(diff) : std::sqrt(diff / norm);
}

// Upgrades the case to `target`, expects it rewrote node 'n', runs both and
// compares every output within `tolerance`; returns the upgraded proto.
onnx::ModelProto ExpectSameAfterUpgrade(const OneNode& c, int64_t target, double tolerance) {
  auto model = Load(Build(c));
  std::vector<std::string> rewritten;
  auto up = quant::UpgradeOpset(*model, target, &rewritten);
  EXPECT_TRUE(up.ok()) << up.status().ToString();
  if (!up.ok()) return {};
  EXPECT_EQ(up.value()->OpsetVersion(""), target);
  EXPECT_EQ(rewritten, std::vector<std::string>{"node 'n' (" + c.node.op_type() + ")"});
  const std::vector<Tensor> before = Run(*model, c.x_dims), after = Run(*up.value(), c.x_dims);
  EXPECT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size() && i < after.size(); ++i) {
    EXPECT_EQ(before[i].shape(), after[i].shape()) << "output " << i;
    EXPECT_EQ(before[i].dtype(), after[i].dtype()) << "output " << i;
    const std::vector<double> a = testing::Values(before[i]), b = testing::Values(after[i]);
    if (tolerance == kExact) {
      EXPECT_EQ(a, b) << "output " << i;
    } else {
      EXPECT_LE(RelativeL2(a, b), tolerance) << "output " << i;
    }
  }
  if (const char* dir = std::getenv("PQ_UPGRADE_DUMP")) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::ofstream(std::string(dir) + "/" + info->name() + "_" + std::to_string(target) + ".onnx",
                  std::ios::binary)
        << up.value()->proto().SerializeAsString();
  }
  return up.value()->proto();
}

std::vector<std::string> OpTypes(const onnx::ModelProto& m) {
  std::vector<std::string> ops;
  for (const auto& n : m.graph().node()) ops.push_back(n.op_type());
  return ops;
}

onnx::TensorProto FloatConstant(const std::string& name, const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(static_cast<int64_t>(values.size()));
  for (float v : values) t.add_float_data(v);
  return t;
}

// The case onnx's version converter asserts on; the declared rank-3 input
// with axis 1 needs the Flatten form.
TEST(OpsetUpgradeOpsTest, SoftmaxOpset11AxisOneOnRankThreeIsFlattenedAndReshaped) {
  OneNode c{MakeNode("Softmax", {"X"}, {"Y"}), 11, {2, 3, 4}};
  SetAttr(&c.node, "axis", int64_t{1});
  const onnx::ModelProto up = ExpectSameAfterUpgrade(c, 13, kFloatTolerance);
  EXPECT_EQ(OpTypes(up), (std::vector<std::string>{"Flatten", "Shape", "Softmax", "Reshape"}));
  ExpectSameAfterUpgrade(c, 21, kFloatTolerance);
}

TEST(OpsetUpgradeOpsTest, SoftmaxOverTheLastAxisOnlyMakesTheAxisExplicit) {
  OneNode c{MakeNode("LogSoftmax", {"X"}, {"Y"}), 11, {2, 3, 4}};
  SetAttr(&c.node, "axis", int64_t{-1});
  const onnx::ModelProto up = ExpectSameAfterUpgrade(c, 13, kFloatTolerance);
  ASSERT_EQ(OpTypes(up), std::vector<std::string>{"LogSoftmax"});
  EXPECT_EQ(up.graph().node(0).attribute(0).i(), 2);
}

TEST(OpsetUpgradeOpsTest, SoftmaxFamilyWithoutDeclaredRankUsesTheFlattenForm) {
  OneNode c{MakeNode("Hardmax", {"X"}, {"Y"}), 9, {2, 3, 4}, false};
  EXPECT_EQ(OpTypes(ExpectSameAfterUpgrade(c, 13, kExact)).size(), 4u);
  c.node.set_op_type("Softmax");
  ExpectSameAfterUpgrade(c, 13, kFloatTolerance);
}

TEST(OpsetUpgradeOpsTest, SliceAttributesBecomeInputs) {
  OneNode c{MakeNode("Slice", {"X"}, {"Y"}), 9, {3, 5}};
  SetAttr(&c.node, "starts", std::vector<int64_t>{1, 0});
  SetAttr(&c.node, "ends", std::vector<int64_t>{1000, -1});
  SetAttr(&c.node, "axes", std::vector<int64_t>{1, 0});
  EXPECT_EQ(ExpectSameAfterUpgrade(c, 10, kExact).graph().node(0).input_size(), 4);
}

TEST(OpsetUpgradeOpsTest, PadAttributesBecomeInputs) {
  OneNode c{MakeNode("Pad", {"X"}, {"Y"}), 10, {2, 3}};
  SetAttr(&c.node, "pads", std::vector<int64_t>{0, 1, 1, 2});
  SetAttr(&c.node, "value", 1.5f);
  EXPECT_EQ(ExpectSameAfterUpgrade(c, 13, kExact).graph().node(0).input_size(), 3);
  OneNode reflect{MakeNode("Pad", {"X"}, {"Y"}), 7, {2, 4}};
  SetAttr(&reflect.node, "pads", std::vector<int64_t>{0, 2, 0, 1});
  SetAttr(&reflect.node, "mode", std::string("reflect"));
  ExpectSameAfterUpgrade(reflect, 21, kExact);
}

TEST(OpsetUpgradeOpsTest, ClipBoundsBecomeInputs) {
  OneNode c{MakeNode("Clip", {"X"}, {"Y"}), 10, {2, 5}};
  SetAttr(&c.node, "max", 0.5f);
  const onnx::ModelProto up = ExpectSameAfterUpgrade(c, 13, kExact);
  ASSERT_EQ(up.graph().node(0).input_size(), 3);
  EXPECT_EQ(up.graph().node(0).input(1), "") << "no min bound";
}

TEST(OpsetUpgradeOpsTest, TopKAttributeBecomesAnInput) {
  OneNode c{MakeNode("TopK", {"X"}, {"V", "I"}), 9, {2, 6}};
  c.int64_outputs = {1};
  SetAttr(&c.node, "k", int64_t{3});
  ExpectSameAfterUpgrade(c, 10, kExact);
}

TEST(OpsetUpgradeOpsTest, AxesAttributesBecomeInputsAtThirteen) {
  OneNode unsq{MakeNode("Unsqueeze", {"X"}, {"Y"}), 11, {2, 3}};
  SetAttr(&unsq.node, "axes", std::vector<int64_t>{0, 3});
  ExpectSameAfterUpgrade(unsq, 13, kExact);
  OneNode sq{MakeNode("Squeeze", {"X"}, {"Y"}), 7, {2, 1, 3}};
  SetAttr(&sq.node, "axes", std::vector<int64_t>{1});
  ExpectSameAfterUpgrade(sq, 13, kExact);
  OneNode sum{MakeNode("ReduceSum", {"X"}, {"Y"}), 12, {2, 3, 4}};
  SetAttr(&sum.node, "axes", std::vector<int64_t>{-1, 0});
  SetAttr(&sum.node, "keepdims", int64_t{0});
  ExpectSameAfterUpgrade(sum, 13, kExact);
  OneNode mean{MakeNode("ReduceMean", {"X"}, {"Y"}), 7, {2, 3, 4}};
  SetAttr(&mean.node, "axes", std::vector<int64_t>{1});
  ExpectSameAfterUpgrade(mean, 21, kExact);
}

TEST(OpsetUpgradeOpsTest, SplitSizesBecomeAnInputAndNumOutputsIsSetAt18) {
  OneNode c{MakeNode("Split", {"X"}, {"A", "B"}), 11, {2, 5}};
  SetAttr(&c.node, "axis", int64_t{1});
  SetAttr(&c.node, "split", std::vector<int64_t>{2, 3});
  EXPECT_EQ(ExpectSameAfterUpgrade(c, 21, kExact).graph().node(0).input_size(), 2);
  OneNode equal{MakeNode("Split", {"X"}, {"A", "B"}), 12, {4, 3}};
  const onnx::ModelProto up = ExpectSameAfterUpgrade(equal, 18, kExact);
  ASSERT_EQ(up.graph().node(0).attribute_size(), 1);
  EXPECT_EQ(up.graph().node(0).attribute(0).name(), "num_outputs");
  EXPECT_EQ(up.graph().node(0).attribute(0).i(), 2);
}

TEST(OpsetUpgradeOpsTest, DropoutRatioBecomesAnInputAndLegacyAttributesGo) {
  OneNode c{MakeNode("Dropout", {"X"}, {"Y"}), 7, {2, 3}};
  SetAttr(&c.node, "ratio", 0.25f);
  SetAttr(&c.node, "is_test", int64_t{1});
  const onnx::ModelProto up = ExpectSameAfterUpgrade(c, 13, kExact);
  EXPECT_EQ(up.graph().node(0).attribute_size(), 0);
  EXPECT_EQ(up.graph().node(0).input_size(), 2);
}

TEST(OpsetUpgradeOpsTest, BatchNormalizationLosesSpatialOrIsRefused) {
  OneNode c{MakeNode("BatchNormalization", {"X", "s", "b", "m", "v"}, {"Y"}), 7, {1, 2, 3}};
  c.initializers = {FloatConstant("s", {1.5f, 0.5f}), FloatConstant("b", {0.1f, -0.2f}),
                    FloatConstant("m", {0.3f, -0.1f}), FloatConstant("v", {2.0f, 0.7f})};
  SetAttr(&c.node, "spatial", int64_t{1});
  SetAttr(&c.node, "consumed_inputs", std::vector<int64_t>{0, 0, 0, 1, 1});
  const onnx::ModelProto up = ExpectSameAfterUpgrade(c, 15, kFloatTolerance);
  EXPECT_EQ(up.graph().node(0).attribute_size(), 0);
  c.node.mutable_attribute(0)->set_i(0);
  auto refused = quant::UpgradeOpset(*Load(Build(c)), 13);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(refused.status().message().find("node 'n' (BatchNormalization): spatial = 0"),
            std::string::npos)
      << refused.status().ToString();
}

TEST(OpsetUpgradeOpsTest, UpsampleBecomesResize) {
  OneNode c{MakeNode("Upsample", {"X"}, {"Y"}), 7, {1, 1, 2, 3}};
  SetAttr(&c.node, "scales", std::vector<float>{1, 1, 2, 3});
  EXPECT_EQ(OpTypes(ExpectSameAfterUpgrade(c, 10, kExact)), std::vector<std::string>{"Resize"});
  ExpectSameAfterUpgrade(c, 13, kExact);
  ExpectSameAfterUpgrade(c, 11, kExact);
  OneNode linear{MakeNode("Upsample", {"X", "scales"}, {"Y"}), 9, {1, 2, 3, 2}};
  linear.initializers = {FloatConstant("scales", {1, 1, 2, 2.5f})};
  SetAttr(&linear.node, "mode", std::string("linear"));
  ExpectSameAfterUpgrade(linear, 13, kFloatTolerance);
}

TEST(OpsetUpgradeOpsTest, ResizeTenGetsRoiAndAsymmetricCoordinates) {
  OneNode up{MakeNode("Resize", {"X", "scales"}, {"Y"}), 10, {1, 1, 3, 3}};
  up.initializers = {FloatConstant("scales", {1, 1, 2, 1.5f})};
  ExpectSameAfterUpgrade(up, 11, kExact);
  OneNode down = up;
  down.x_dims = {1, 1, 6, 5};
  down.initializers = {FloatConstant("scales", {1, 1, 0.5f, 0.6f})};
  ExpectSameAfterUpgrade(down, 13, kExact);
  SetAttr(&down.node, "mode", std::string("linear"));
  ExpectSameAfterUpgrade(down, 21, kFloatTolerance);
  OneNode mixed = up;
  mixed.initializers = {FloatConstant("scales", {1, 1, 2, 0.5f})};
  auto refused = quant::UpgradeOpset(*Load(Build(mixed)), 13);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("node 'n' (Resize)"), std::string::npos);
}

TEST(OpsetUpgradeOpsTest, ScatterBecomesScatterElements) {
  OneNode c{MakeNode("Scatter", {"X", "i", "X"}, {"Y"}), 9, {2, 2}};
  onnx::TensorProto indices;
  indices.set_name("i");
  indices.set_data_type(onnx::TensorProto::INT64);
  for (int64_t v : {1, 0, 0, 1}) indices.add_int64_data(v);
  indices.add_dims(2);
  indices.add_dims(2);
  c.initializers = {indices};
  auto up = quant::UpgradeOpset(*Load(Build(c)), 13);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(OpTypes(up.value()->proto()), std::vector<std::string>{"ScatterElements"});
}

TEST(OpsetUpgradeOpsTest, ScanBeforeNineIsRefusedNamingTheNode) {
  OneNode c{MakeNode("Scan", {"X"}, {"Y"}), 8, {2, 2}};
  auto up = quant::UpgradeOpset(*Load(Build(c)), 13);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(up.status().message().find("node 'n' (Scan)"), std::string::npos);
}

}  // namespace
}  // namespace pq
