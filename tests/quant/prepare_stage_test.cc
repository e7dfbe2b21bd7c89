// Direct tests of src/quant/prepare_stage.cc: BatchNormalization folding
// (recorded, or skipped when asked), the opset a scheme set needs (13 for
// per-channel int8 by pq's upgrade, verified when a node was rewritten and
// saying so when it cannot be; per-tensor with a warning when the upgrade is
// refused; 21 for int4 "onnx").
#include "quant/prepare_stage.h"

#include <gtest/gtest.h>

#include "quant/equivalence_check.h"
#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

using testing::CountOpType;
using testing::Mentions;

constexpr int kSampleBatchNorms = 2;  // models/fashion_cnn.onnx

SchemeSet SchemesFor(const QuantizeOptions& o) {
  Result<SchemeSet> set = MakeSchemeSet(o);
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  return std::move(set).value();
}

TEST(PrepareStageTest, FoldsEveryBatchNormAndRecordsIt) {
  auto model = Model::Load(testing::ModelsDir() + "/fashion_cnn.onnx");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  ASSERT_EQ(CountOpType(*model.value(), "BatchNormalization"), kSampleBatchNorms);
  QuantizeOptions o;
  Result<PreparedModel> p = PrepareModel(*model.value(), o, SchemesFor(o));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(CountOpType(*p->model, "BatchNormalization"), 0);
  int folded = 0;
  for (const std::string& t : p->transformations) {
    folded += Mentions(t, "folded BatchNormalization '") && Mentions(t, "' into Conv '");
  }
  EXPECT_EQ(folded, kSampleBatchNorms);
  EXPECT_TRUE(p->per_channel);
  EXPECT_TRUE(p->warnings.empty());
  // Folding keeps the model's meaning.
  EXPECT_TRUE(CheckSameOutputs(*model.value(), *p->model, 0).ok());
  EXPECT_EQ(CountOpType(*model.value(), "BatchNormalization"), kSampleBatchNorms) << "input untouched";
}

TEST(PrepareStageTest, FoldBatchNormFalseKeepsThemAndRecordsNothing) {
  auto model = Model::Load(testing::ModelsDir() + "/fashion_cnn.onnx");
  ASSERT_TRUE(model.ok());
  QuantizeOptions o;
  o.fold_batchnorm = false;
  Result<PreparedModel> p = PrepareModel(*model.value(), o, SchemesFor(o));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(CountOpType(*p->model, "BatchNormalization"), kSampleBatchNorms);
  EXPECT_TRUE(p->transformations.empty());
  EXPECT_EQ(p->model->proto().SerializeAsString(), model.value()->proto().SerializeAsString());
}

TEST(PrepareStageTest, OpsetElevenIsConvertedToThirteenForPerChannelInt8) {
  auto model = testing::ModelOf(testing::ConvMlpProto(11));
  QuantizeOptions o;
  Result<PreparedModel> p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->model->OpsetVersion(""), 13);
  EXPECT_TRUE(p->per_channel);
  ASSERT_EQ(p->transformations.size(), 1u);
  EXPECT_TRUE(Mentions(p->transformations[0], "from 11 to 13 (pq)")) << p->transformations[0];
  EXPECT_TRUE(Mentions(p->transformations[0], "no node needed rewriting")) << p->transformations[0];
  // Per-tensor weights need opset 10 only: nothing to convert.
  o.per_channel = false;
  p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->model->OpsetVersion(""), 11);
  EXPECT_TRUE(p->transformations.empty());
  EXPECT_FALSE(p->per_channel);
}

// Per-tensor weights need QuantizeLinear (opset 10): an opset-9 export is
// converted to 10, checked, and recorded.
TEST(PrepareStageTest, OpsetNineIsConvertedToTenForPerTensorWeights) {
  auto model = testing::ModelOf(testing::ConvMlpProto(9));
  ASSERT_NE(model, nullptr);
  QuantizeOptions o;
  o.per_channel = false;
  Result<PreparedModel> p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->model->OpsetVersion(""), 10);
  ASSERT_EQ(p->transformations.size(), 1u);
  EXPECT_TRUE(Mentions(p->transformations[0], "from 9 to 10")) << p->transformations[0];
}

// ConvMlpProto with Softmax (default axis) after the Gemm, whose opset-11
// meaning is rewritten on the way to 13.
onnx::ModelProto ConvMlpSoftmaxProto(int64_t opset) {
  onnx::ModelProto proto = testing::ConvMlpProto(opset);
  onnx::GraphProto* g = proto.mutable_graph();
  g->mutable_node(g->node_size() - 1)->set_output(0, "G");
  onnx::NodeProto* softmax = g->add_node();
  softmax->set_op_type("Softmax");
  softmax->set_name("probs");
  softmax->add_input("G");
  softmax->add_output("Y");
  return proto;
}

TEST(PrepareStageTest, OpsetNineSoftmaxIsRewrittenAndVerified) {
  auto model = testing::ModelOf(ConvMlpSoftmaxProto(9));
  ASSERT_NE(model, nullptr);
  QuantizeOptions o;
  Result<PreparedModel> p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->model->OpsetVersion(""), 13);
  EXPECT_TRUE(p->per_channel);
  EXPECT_TRUE(p->warnings.empty());
  ASSERT_EQ(p->transformations.size(), 1u);
  const std::string& t = p->transformations[0];
  EXPECT_TRUE(Mentions(t, "from 9 to 13 (pq)")) << t;
  EXPECT_TRUE(Mentions(t, "1 node(s) rewritten")) << t;
  EXPECT_TRUE(Mentions(t, "outputs verified equal")) << t;
}

// With --calib, the upgrade check runs both models on the calibration data
// (here values up to 4, outside the generated sample's [-1, 1]).
TEST(PrepareStageTest, UpgradeCheckRunsOnTheCalibrationData) {
  auto model = testing::ModelOf(ConvMlpSoftmaxProto(9));
  ASSERT_NE(model, nullptr);
  testing::TempDir dir;
  testing::WriteConvMlpCalibration(dir.File("calib.npy"), 3, 4.0f, 0.0f);
  QuantizeOptions o;
  o.calib_paths = {dir.File("calib.npy")};
  Result<PreparedModel> p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->model->OpsetVersion(""), 13);
  ASSERT_EQ(p->transformations.size(), 1u);
  EXPECT_TRUE(Mentions(p->transformations[0], "outputs verified equal")) << p->transformations[0];
}

// Calibration data that does not fit the model is the data's error, named
// as calibration names it, not an upgrade failure turned into per-tensor
// weights.
TEST(PrepareStageTest, CalibrationDataThatDoesNotFitIsRefusedBeforeTheUpgrade) {
  auto model = testing::ModelOf(ConvMlpSoftmaxProto(9));
  ASSERT_NE(model, nullptr);
  testing::TempDir dir;
  testing::WriteFile(dir.File("calib.npy"), EncodeNpy(testing::Floats({2, 3}, {1, 2, 3, 4, 5, 6})));
  QuantizeOptions o;
  o.calib_paths = {dir.File("calib.npy")};
  Result<PreparedModel> p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(Mentions(p.status().message(), "calib.npy")) << p.status().message();
}

// A string input: the check feeds floats, integers and bools only, so the
// upgraded model cannot be checked by running it. The rewrite is taken, and
// the transformation and a warning say it was not verified.
TEST(PrepareStageTest, UnverifiableUpgradeIsTakenAndSaysSo) {
  onnx::ModelProto proto = ConvMlpSoftmaxProto(11);
  onnx::ValueInfoProto* ids = proto.mutable_graph()->add_input();
  ids->set_name("ids");
  ids->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::STRING);
  ids->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(1);
  onnx::NodeProto* id = proto.mutable_graph()->add_node();
  id->set_op_type("Identity");
  id->set_name("id");
  id->add_input("ids");
  id->add_output("ids_out");
  *proto.mutable_graph()->add_output() = *ids;
  proto.mutable_graph()->mutable_output(1)->set_name("ids_out");
  auto model = testing::ModelOf(proto);
  ASSERT_NE(model, nullptr);
  QuantizeOptions o;
  Result<PreparedModel> p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->per_channel);
  EXPECT_EQ(p->model->OpsetVersion(""), 13);
  ASSERT_EQ(p->transformations.size(), 1u);
  EXPECT_TRUE(Mentions(p->transformations[0], "(node 'probs' (Softmax)); outputs not verified"))
      << p->transformations[0];
  EXPECT_FALSE(Mentions(p->transformations[0], "verified equal")) << p->transformations[0];
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_TRUE(Mentions(p->warnings[0], "could not be verified")) << p->warnings[0];
}

// A node pq cannot upgrade keeps an opset-11 model at 11 with per-tensor
// weights, and a warning naming the node.
TEST(PrepareStageTest, RefusedUpgradeFallsBackToPerTensorWithAWarning) {
  onnx::ModelProto proto = ConvMlpSoftmaxProto(11);
  proto.mutable_graph()->mutable_node(proto.mutable_graph()->node_size() - 1)->set_op_type("Resize");
  proto.mutable_graph()->mutable_node(proto.mutable_graph()->node_size() - 1)->set_name("rs");
  onnx::AttributeProto* mode = proto.mutable_graph()->mutable_node(5)->add_attribute();
  mode->set_name("coordinate_transformation_mode");
  mode->set_type(onnx::AttributeProto::STRING);
  mode->set_s("tf_half_pixel_for_nn");
  auto model = testing::ModelOf(proto);
  ASSERT_NE(model, nullptr);
  QuantizeOptions o;
  Result<PreparedModel> p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->per_channel);
  EXPECT_EQ(p->model->OpsetVersion(""), 11);
  EXPECT_TRUE(p->transformations.empty());
  ASSERT_EQ(p->warnings.size(), 1u);
  EXPECT_TRUE(Mentions(p->warnings[0], "per-tensor")) << p->warnings[0];
  EXPECT_TRUE(Mentions(p->warnings[0], "node 'rs' (Resize)")) << p->warnings[0];
}

TEST(PrepareStageTest, Int4OnnxFormatUpgradesToOpset21) {
  auto model = testing::ModelOf(testing::ConvMlpProto(13));
  QuantizeOptions o;
  o.scheme = "int4-sym";
  o.int4_format = "onnx";
  Result<PreparedModel> p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->model->OpsetVersion(""), 21);
  ASSERT_EQ(p->transformations.size(), 1u);
  EXPECT_TRUE(Mentions(p->transformations[0], "from 13 to 21")) << p->transformations[0];
  // The fused form needs no particular opset.
  o.int4_format = "ort";
  p = PrepareModel(*model, o, SchemesFor(o));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->model->OpsetVersion(""), 13);
  EXPECT_TRUE(p->transformations.empty());
}

}  // namespace
}  // namespace pq::quant
