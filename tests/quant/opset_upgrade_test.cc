// Tests of src/quant/opset_upgrade.cc: Reduce* axes attributes become an
// int64 input at opset 18 and compute the same in pq's executor; any opset
// from 7 reaches every target (per-op rewrites: opset_upgrade_ops_test.cc); ops whose
// meaning changed are refused naming the node; Quantize() with --int4-format
// onnx fails with a message that points to --int4-format ort.
#include <gtest/gtest.h>

#include <cstring>

#include "exec/kernel_test_util.h"
#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "pq/quantize.h"
#include "quant/opset_upgrade.h"
#include "testutil/model_builder.h"

namespace pq {
namespace {

// Y = ReduceMean(MatMul(X, W), axes = [1], keepdims = 1) + ReduceMax(.., no
// axes: all), X [2, 4], W [4, 6]; opset `opset`.
onnx::ModelProto ReduceModel(int64_t opset) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(opset);
  auto* g = model.mutable_graph();
  *g->add_input() = testing::FloatValueInfo("X", {2, 4});
  *g->add_output() = testing::FloatValueInfo("Y", {2, 1});
  *g->add_initializer() = testing::RandomFloatTensor("W", {4, 6}, 3);
  auto add = [&](const char* op, const char* name, std::vector<std::string> in, const char* out) {
    auto* n = g->add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : in) n->add_input(i);
    n->add_output(out);
    return n;
  };
  add("MatMul", "mm", {"X", "W"}, "H");
  auto* mean = add("ReduceMean", "mean", {"H"}, "M");
  auto* axes = mean->add_attribute();
  axes->set_name("axes");
  axes->set_type(onnx::AttributeProto::INTS);
  axes->add_ints(1);
  auto* keep = mean->add_attribute();
  keep->set_name("keepdims");
  keep->set_type(onnx::AttributeProto::INT);
  keep->set_i(1);
  add("ReduceMax", "max", {"H"}, "A");
  add("Add", "add", {"M", "A"}, "Y");
  return model;
}

std::unique_ptr<Model> Load(const onnx::ModelProto& proto) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "reduce.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return std::move(model).value();
}

std::vector<double> RunOnFixedInput(const Model& model) {
  auto exec = Executor::Create(model);
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  auto out = exec.value()->Run(
      {{"X", testing::Floats({2, 4}, {0.5f, -1, 2, 0.25f, 1, 1.5f, -0.75f, 3})}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return testing::Values(out.value()[0]);
}

TEST(OpsetUpgradeTest, ReduceMeanAxesAttributeBecomesAnInput) {
  auto model = Load(ReduceModel(13));
  std::vector<std::string> rewritten;
  Result<std::unique_ptr<Model>> up = quant::UpgradeOpset(*model, 21, &rewritten);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(rewritten, std::vector<std::string>{"node 'mean' (ReduceMean)"})
      << "only ReduceMean had an axes attribute";
  const onnx::ModelProto& p = up.value()->proto();
  EXPECT_EQ(up.value()->OpsetVersion(""), 21);
  EXPECT_EQ(p.ir_version(), 10);
  const onnx::NodeProto& mean = p.graph().node(1);
  ASSERT_EQ(mean.input_size(), 2);
  for (const auto& a : mean.attribute()) EXPECT_NE(a.name(), "axes");
  bool keepdims = false;
  for (const auto& a : mean.attribute()) keepdims |= a.name() == "keepdims" && a.i() == 1;
  EXPECT_TRUE(keepdims);
  const onnx::TensorProto* axes = nullptr;
  for (const auto& t : p.graph().initializer()) {
    if (t.name() == mean.input(1)) axes = &t;
  }
  ASSERT_NE(axes, nullptr);
  EXPECT_EQ(axes->data_type(), onnx::TensorProto::INT64);
  int64_t axis = -1;
  ASSERT_EQ(axes->raw_data().size(), sizeof(int64_t));
  std::memcpy(&axis, axes->raw_data().data(), sizeof(axis));
  EXPECT_EQ(axis, 1);
  EXPECT_EQ(p.graph().node(2).input_size(), 1) << "ReduceMax without axes stays as it is";
  const std::vector<double> before = RunOnFixedInput(*model), after = RunOnFixedInput(*up.value());
  ASSERT_EQ(before.size(), 2u);
  EXPECT_EQ(before, after);
}

TEST(OpsetUpgradeTest, ModelsAtOpset18KeepTheirReduceNodes) {
  onnx::ModelProto proto = ReduceModel(13);
  proto.mutable_opset_import(0)->set_version(18);
  proto.mutable_graph()->mutable_node(1)->clear_attribute();
  auto model = Load(proto);
  Result<std::unique_ptr<Model>> up = quant::UpgradeOpset(*model, 21);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ(up.value()->proto().graph().node(1).input_size(), 1);
  EXPECT_EQ(up.value()->proto().graph().initializer_size(), 1);
}

TEST(OpsetUpgradeTest, OpWhoseMeaningChangedIsRefusedNamingTheNode) {
  onnx::ModelProto proto = ReduceModel(16);
  auto* gs = proto.mutable_graph()->add_node();
  gs->set_op_type("GridSample");
  gs->set_name("sampler");
  gs->add_input("X");
  gs->add_input("X");
  gs->add_output("S");
  auto model = Load(proto);
  Result<std::unique_ptr<Model>> up = quant::UpgradeOpset(*model, 21);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(up.status().message().find("node 'sampler' (GridSample)"), std::string::npos)
      << up.status().ToString();
  // From opset 20 on, GridSample means the same: no refusal.
  proto.mutable_opset_import(0)->set_version(20);
  proto.mutable_graph()->mutable_node(1)->clear_attribute();
  EXPECT_TRUE(quant::UpgradeOpset(*Load(proto), 21).ok());
}

// (Models below opset 7 do not load.)
TEST(OpsetUpgradeTest, ADowngradeOrATargetPast21IsRefused) {
  Result<std::unique_ptr<Model>> up = quant::UpgradeOpset(*Load(ReduceModel(13)), 10);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.status().code(), Status::Code::kNotSupported);
  up = quant::UpgradeOpset(*Load(ReduceModel(13)), 22);
  ASSERT_FALSE(up.ok());
  EXPECT_EQ(up.status().code(), Status::Code::kNotSupported);
}

// From opset 7 the same model reaches 21 with the same outputs, and each
// target gets the IR version its opset needs.
TEST(OpsetUpgradeTest, Opset7ReachesEveryTargetWithTheIrVersionItNeeds) {
  auto model = Load(ReduceModel(7));
  const std::vector<double> before = RunOnFixedInput(*model);
  const std::pair<int64_t, int64_t> kTargetIr[] = {{10, 7}, {13, 7}, {17, 8}, {21, 10}};
  for (const auto& [target, ir] : kTargetIr) {
    Result<std::unique_ptr<Model>> up = quant::UpgradeOpset(*model, target);
    ASSERT_TRUE(up.ok()) << up.status().ToString();
    EXPECT_EQ(up.value()->proto().ir_version(), ir) << "opset " << target;
    EXPECT_EQ(RunOnFixedInput(*up.value()), before) << "opset " << target;
  }
}

TEST(OpsetUpgradeTest, Int4OnnxFormRefusalPointsToTheOrtForm) {
  onnx::ModelProto proto = ReduceModel(18);
  proto.mutable_graph()->mutable_node(1)->clear_attribute();
  auto* gn = proto.mutable_graph()->add_node();
  gn->set_op_type("GroupNormalization");
  gn->set_name("groupnorm");
  gn->add_input("H");
  gn->add_input("X");
  gn->add_input("X");
  gn->add_output("G");
  auto model = Load(proto);
  QuantizeOptions options;
  options.scheme = "int4-sym";
  options.block_size = 16;
  options.int4_format = "onnx";
  Result<QuantizeOutcome> out = Quantize(*model, options, {});
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(out.status().message().find("node 'groupnorm' (GroupNormalization)"), std::string::npos)
      << out.status().ToString();
  EXPECT_NE(out.status().message().find("--int4-format ort works at any opset"), std::string::npos);
}

}  // namespace
}  // namespace pq
