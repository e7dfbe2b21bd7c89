// Direct tests of src/quant/plan.cc: which nodes, weights, biases and
// activations BuildPlan selects, with which axis, scheme and parameter owner.
#include "quant/plan.h"

#include <gtest/gtest.h>

#include "testutil/graph_builder.h"

namespace pq::quant {
namespace {

using testing::GraphBuilder;

// X[1,2,4,4] -> Conv(Wc, Bc) -> C -> Relu -> R -> Flatten -> F[1,48]
//   -> MatMul(Wm[48,5]) -> M -> Gemm(Wg, Bg; transB) -> Y[1,4]
// Node indices: 0 Conv, 1 Relu, 2 Flatten, 3 MatMul, 4 Gemm.
std::unique_ptr<Model> ConvMlpModel(bool gemm_trans_b, int64_t gemm_bias_len = 4) {
  GraphBuilder b;
  b.Input("X", {1, 2, 4, 4}).Output("Y", {1, 4});
  b.Weight("Wc", {3, 2, 1, 1}, 1).Weight("Bc", {3}, 2).Weight("Wm", {48, 5}, 3);
  b.Weight("Wg", gemm_trans_b ? std::vector<int64_t>{4, 5} : std::vector<int64_t>{5, 4}, 4);
  b.Weight("Bg", {gemm_bias_len}, 5);
  b.Node("Conv", {"X", "Wc", "Bc"}, {"C"});
  b.Node("Relu", {"C"}, {"R"});
  b.Node("Flatten", {"R"}, {"F"});
  b.Node("MatMul", {"F", "Wm"}, {"M"});
  GraphBuilder::IntAttr(b.Node("Gemm", {"M", "Wg", "Bg"}, {"Y"}), "transB", gemm_trans_b ? 1 : 0);
  return b.Build();
}

std::unique_ptr<Scheme> SchemeNamed(const std::string& name, const SchemeOptions& o = {}) {
  return std::move(MakeScheme(name, o)).value();
}

const PlannedConstant* FindConstant(const QuantPlan& plan, const std::string& tensor) {
  for (const auto& c : plan.constants) {
    if (c.tensor == tensor) return &c;
  }
  return nullptr;
}

const PlannedActivation* FindActivation(const QuantPlan& plan, const std::string& tensor) {
  for (const auto& a : plan.activations) {
    if (a.tensor == tensor) return &a;
  }
  return nullptr;
}

const SkippedRecord* FindSkipped(const QuantPlan& plan, const std::string& tensor) {
  for (const auto& s : plan.skipped) {
    if (s.tensor == tensor) return &s;
  }
  return nullptr;
}

bool Mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(PlanTest, WeightsOnlyPlansEachWeightOpWithItsChannelAxis) {
  auto model = ConvMlpModel(/*gemm_trans_b=*/false);
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, false, true, *scheme, nullptr);
  EXPECT_EQ(plan.nodes, (std::vector<int>{0, 3, 4}));
  ASSERT_EQ(plan.constants.size(), 3u) << "weights only: no biases";
  EXPECT_EQ(plan.constants[0].tensor, "Wc");
  EXPECT_EQ(plan.constants[0].axis, 0);
  EXPECT_EQ(plan.constants[1].tensor, "Wm");
  EXPECT_EQ(plan.constants[1].axis, 1);
  EXPECT_EQ(plan.constants[2].tensor, "Wg");
  EXPECT_EQ(plan.constants[2].axis, 1) << "Gemm transB=0: B is [K, N]";
  for (const auto& c : plan.constants) {
    EXPECT_EQ(c.role, TensorRole::kWeight);
    EXPECT_EQ(c.scheme, scheme.get());
    EXPECT_FALSE(c.transposed);
  }
  EXPECT_EQ(plan.constants[1].uses, (std::vector<Use>{{3, 1}}));
  EXPECT_TRUE(plan.activations.empty());
  EXPECT_TRUE(plan.calibrate.empty());
  EXPECT_TRUE(plan.skipped.empty());
}

TEST(PlanTest, GemmTransBOneHasItsChannelsOnAxisZero) {
  auto model = ConvMlpModel(/*gemm_trans_b=*/true);
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, false, true, *scheme, nullptr);
  ASSERT_NE(FindConstant(plan, "Wg"), nullptr);
  EXPECT_EQ(FindConstant(plan, "Wg")->axis, 0);
}

TEST(PlanTest, PerTensorPlansEveryAxisAsMinusOne) {
  auto model = ConvMlpModel(false);
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, true, false, *scheme, nullptr);
  ASSERT_FALSE(plan.constants.empty());
  for (const auto& c : plan.constants) EXPECT_EQ(c.axis, -1) << c.tensor;
}

TEST(PlanTest, ExclusionsAndOpTypeSelectionSkipWithTheirReasons) {
  auto model = ConvMlpModel(false);
  auto scheme = SchemeNamed("int8-sym");
  QuantizeOptions options;
  options.exclude_nodes = {"MatMul"};
  options.exclude_op_types = {"Gemm"};
  QuantPlan plan = BuildPlan(*model, options, false, true, *scheme, nullptr);
  EXPECT_EQ(plan.nodes, (std::vector<int>{0}));
  ASSERT_EQ(plan.skipped.size(), 2u);
  EXPECT_EQ(plan.skipped[0].node, "MatMul");
  EXPECT_EQ(plan.skipped[0].tensor, "Wm");
  EXPECT_TRUE(Mentions(plan.skipped[0].reason, "--exclude-nodes")) << plan.skipped[0].reason;
  EXPECT_EQ(plan.skipped[1].op_type, "Gemm");
  EXPECT_TRUE(Mentions(plan.skipped[1].reason, "--exclude-op-types")) << plan.skipped[1].reason;

  options = QuantizeOptions{};
  options.op_types = {"MatMul"};
  plan = BuildPlan(*model, options, false, true, *scheme, nullptr);
  EXPECT_EQ(plan.nodes, (std::vector<int>{3}));
  ASSERT_NE(FindSkipped(plan, "Wc"), nullptr);
  EXPECT_TRUE(Mentions(FindSkipped(plan, "Wc")->reason, "--op-types"));
  ASSERT_NE(FindSkipped(plan, "Wg"), nullptr);
}

TEST(PlanTest, StaticBiasesPairTheActivationWithTheWeight) {
  auto model = ConvMlpModel(false);
  auto scheme = SchemeNamed("int8-asym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, true, true, *scheme, nullptr);
  const PlannedConstant* bc = FindConstant(plan, "Bc");
  ASSERT_NE(bc, nullptr);
  EXPECT_EQ(bc->role, TensorRole::kBias);
  EXPECT_EQ(bc->activation, "X");
  EXPECT_EQ(bc->weight, "Wc");
  EXPECT_EQ(bc->weight_axis, 0);
  EXPECT_EQ(bc->axis, 0);
  EXPECT_EQ(bc->uses, (std::vector<Use>{{0, 2}}));
  const PlannedConstant* bg = FindConstant(plan, "Bg");
  ASSERT_NE(bg, nullptr);
  EXPECT_EQ(bg->activation, "M");
  EXPECT_EQ(bg->weight, "Wg");
  EXPECT_EQ(bg->weight_axis, 1);
  EXPECT_EQ(bg->uses, (std::vector<Use>{{4, 2}}));
  // Per tensor: the bias is per tensor as well.
  plan = BuildPlan(*model, QuantizeOptions{}, true, false, *scheme, nullptr);
  ASSERT_NE(FindConstant(plan, "Bg"), nullptr);
  EXPECT_EQ(FindConstant(plan, "Bg")->axis, -1);
  EXPECT_EQ(FindConstant(plan, "Bg")->weight_axis, -1);
}

TEST(PlanTest, BiasOfTheWrongLengthIsSkipped) {
  auto model = ConvMlpModel(false, /*gemm_bias_len=*/1);  // broadcast C: legal ONNX
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, true, true, *scheme, nullptr);
  EXPECT_EQ(FindConstant(plan, "Bg"), nullptr);
  const SkippedRecord* s = FindSkipped(plan, "Bg");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->node, "Gemm");
  EXPECT_TRUE(Mentions(s->reason, "one value per output")) << s->reason;
  EXPECT_NE(FindConstant(plan, "Wg"), nullptr) << "the Gemm itself is still quantized";
}

// Conv -> Relu (its only reader): the Conv output shares the Relu output's
// parameters; Flatten (a data-moving op fed by a quantized node) shares them
// too; owners are exactly what calibrate holds.
TEST(PlanTest, StaticActivationsShareThroughReluAndDataMovingOps) {
  auto model = ConvMlpModel(false);
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, true, true, *scheme, nullptr);
  std::vector<std::string> order;
  for (const auto& a : plan.activations) order.push_back(a.tensor);
  EXPECT_EQ(order, (std::vector<std::string>{"X", "C", "R", "F", "M"}));
  EXPECT_EQ(FindActivation(plan, "C")->shares_params_with, "R");
  EXPECT_EQ(FindActivation(plan, "F")->shares_params_with, "R");
  EXPECT_EQ(FindActivation(plan, "R")->shares_params_with, "");
  EXPECT_EQ(plan.calibrate, (std::set<std::string>{"X", "R", "M"}));
  for (const auto& a : plan.activations) {
    EXPECT_EQ(plan.calibrate.count(a.tensor) != 0, a.shares_params_with.empty()) << a.tensor;
  }
  EXPECT_EQ(FindActivation(plan, "X")->uses, (std::vector<Use>{{0, 0}}));
  EXPECT_EQ(FindActivation(plan, "C")->uses, (std::vector<Use>{{1, 0}}));
  EXPECT_EQ(FindActivation(plan, "R")->uses, (std::vector<Use>{{2, 0}}));
  EXPECT_EQ(FindActivation(plan, "F")->uses, (std::vector<Use>{{3, 0}}));
  EXPECT_EQ(FindActivation(plan, "M")->uses, (std::vector<Use>{{4, 0}}));
  EXPECT_EQ(FindActivation(plan, "Y"), nullptr) << "graph outputs stay float";
}

// X -> Sigmoid -> S -> MaxPool -> P -> Conv1 -> C1 -> MaxPool -> Q -> Conv2 -> Y
TEST(PlanTest, DataMovingOpIsQuantizedOnlyAfterAQuantizedNode) {
  GraphBuilder b;
  b.Input("X", {1, 2, 8, 8}).Output("Y", {1, 2, 2, 2});
  b.Weight("W1", {2, 2, 1, 1}, 1).Weight("W2", {2, 2, 1, 1}, 2);
  auto pool = [&](const std::string& in, const std::string& out, const std::string& name) {
    onnx::AttributeProto* k = b.Node("MaxPool", {in}, {out}, name)->add_attribute();
    k->set_name("kernel_shape");
    k->set_type(onnx::AttributeProto::INTS);
    k->add_ints(2);
    k->add_ints(2);
  };
  b.Node("Sigmoid", {"X"}, {"S"});
  pool("S", "P", "pool_a");
  b.Node("Conv", {"P", "W1"}, {"C1"}, "conv1");
  pool("C1", "Q", "pool_b");
  b.Node("Conv", {"Q", "W2"}, {"Y"}, "conv2");
  auto model = b.Build();
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, true, true, *scheme, nullptr);
  EXPECT_EQ(FindActivation(plan, "S"), nullptr) << "float producer: the MaxPool stays float";
  EXPECT_EQ(FindActivation(plan, "X"), nullptr);
  ASSERT_NE(FindActivation(plan, "P"), nullptr);
  EXPECT_EQ(FindActivation(plan, "P")->shares_params_with, "");
  ASSERT_NE(FindActivation(plan, "Q"), nullptr);
  EXPECT_EQ(FindActivation(plan, "Q")->shares_params_with, "C1");
  ASSERT_NE(FindActivation(plan, "C1"), nullptr);
  EXPECT_EQ(FindActivation(plan, "C1")->uses, (std::vector<Use>{{3, 0}}));
  EXPECT_EQ(plan.calibrate, (std::set<std::string>{"P", "C1"}));
}

// A Conv output read by a Relu and an Add is quantized for both readers and
// calibrated itself; the Relu output is not quantized.
TEST(PlanTest, ConvOutputWithSeveralReadersIsQuantizedForEveryReader) {
  GraphBuilder b;
  b.Input("X", {1, 2, 4, 4}).Output("Y", {1, 2, 4, 4});
  b.Weight("W", {2, 2, 1, 1});
  b.Node("Conv", {"X", "W"}, {"C"});
  b.Node("Relu", {"C"}, {"R"});
  b.Node("Add", {"R", "C"}, {"Y"});
  auto model = b.Build();
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, true, true, *scheme, nullptr);
  const PlannedActivation* c = FindActivation(plan, "C");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->shares_params_with, "");
  EXPECT_EQ(c->uses, (std::vector<Use>{{1, 0}, {2, 1}}));
  EXPECT_EQ(FindActivation(plan, "R"), nullptr);
  EXPECT_EQ(plan.calibrate, (std::set<std::string>{"X", "C"}));
}

TEST(PlanTest, SharedWeightIsPlannedOnceWithEveryUse) {
  GraphBuilder b;
  b.Input("X", {1, 4}).Output("Y", {1, 4});
  b.Weight("W", {4, 4});
  b.Node("MatMul", {"X", "W"}, {"H"}, "mm1");
  b.Node("MatMul", {"H", "W"}, {"Y"}, "mm2");
  auto model = b.Build();
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, false, true, *scheme, nullptr);
  ASSERT_EQ(plan.constants.size(), 1u);
  EXPECT_EQ(plan.constants[0].uses, (std::vector<Use>{{0, 1}, {1, 1}}));
}

TEST(PlanTest, NonConstantWeightAndStaticTransAGemmAreSkipped) {
  GraphBuilder b;
  b.Input("X", {4, 4}).Input("Z", {4, 4}).Output("Y", {4, 4});
  b.Weight("W", {4, 4});
  b.Node("MatMul", {"X", "Z"}, {"H"}, "act_by_act");
  GraphBuilder::IntAttr(b.Node("Gemm", {"H", "W"}, {"Y"}, "gemm_ta"), "transA", 1);
  auto model = b.Build();
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, true, true, *scheme, nullptr);
  EXPECT_TRUE(plan.nodes.empty());
  ASSERT_EQ(plan.skipped.size(), 2u);
  EXPECT_TRUE(Mentions(plan.skipped[0].reason, "not a constant")) << plan.skipped[0].reason;
  EXPECT_TRUE(Mentions(plan.skipped[1].reason, "transA=1")) << plan.skipped[1].reason;
  // Weights only, the transA Gemm's weight is taken.
  plan = BuildPlan(*model, QuantizeOptions{}, false, true, *scheme, nullptr);
  EXPECT_EQ(plan.nodes, (std::vector<int>{1}));
}

TEST(PlanTest, Nf4SkipsConvWeightsAndListsOtherFloatConstants) {
  auto model = ConvMlpModel(/*gemm_trans_b=*/true);
  auto nf4 = SchemeNamed("nf4");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, false, true, *nf4, nullptr);
  EXPECT_EQ(plan.nodes, (std::vector<int>{3, 4}));
  const SkippedRecord* wc = FindSkipped(plan, "Wc");
  ASSERT_NE(wc, nullptr);
  EXPECT_TRUE(Mentions(wc->reason, "not Conv weights")) << wc->reason;
  for (const char* bias : {"Bc", "Bg"}) {
    const SkippedRecord* s = FindSkipped(plan, bias);
    ASSERT_NE(s, nullptr) << bias;
    EXPECT_TRUE(Mentions(s->reason, "bias")) << s->reason;
  }
  const PlannedConstant* wm = FindConstant(plan, "Wm");
  ASSERT_NE(wm, nullptr);
  EXPECT_EQ(wm->axis, -1) << "blockwise encodings have no per-channel axis";
  EXPECT_TRUE(wm->transposed) << "MatMul's [K, N] is handed over as [N, K]";
  EXPECT_FALSE(FindConstant(plan, "Wg")->transposed) << "Gemm transB=1 is already [N, K]";
}

TEST(PlanTest, FallbackSchemeTakesWhatTheMainSchemeRefuses) {
  auto model = ConvMlpModel(true);
  auto nf4 = SchemeNamed("nf4");
  auto int8 = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, false, true, *nf4, int8.get());
  EXPECT_EQ(plan.nodes, (std::vector<int>{0, 3, 4}));
  const PlannedConstant* wc = FindConstant(plan, "Wc");
  ASSERT_NE(wc, nullptr);
  EXPECT_EQ(wc->scheme, int8.get());
  EXPECT_EQ(wc->axis, 0) << "the fallback is per channel";
  EXPECT_FALSE(wc->transposed);
  EXPECT_EQ(FindConstant(plan, "Wm")->scheme, nf4.get());
  EXPECT_EQ(FindSkipped(plan, "Wc"), nullptr);
  // A fallback that refuses as well: both reasons are given.
  auto int4 = SchemeNamed("int4-sym");
  plan = BuildPlan(*model, QuantizeOptions{}, false, true, *nf4, int4.get());
  ASSERT_NE(FindSkipped(plan, "Wc"), nullptr);
  const std::string& reason = FindSkipped(plan, "Wc")->reason;
  EXPECT_TRUE(Mentions(reason, "nf4") && Mentions(reason, "; fallback: int4-sym")) << reason;
}

// A Gemm in each branch of an If, reading main-graph weights (as torch
// exports a data-dependent `if` over two Linear layers), plus a MatMul in the
// main graph: the main-graph plan holds the MatMul alone and says nothing of
// the branches (the Body stage, body_stage_test.cc, plans and reports them).
TEST(PlanTest, PlansMainGraphNodesAndLeavesBodiesToTheBodyStage) {
  GraphBuilder b;
  b.Input("X", {2, 4}).Input("C", {}).Output("Y", {2, 4});
  b.Weight("Wm", {4, 4}, 1).Weight("Wa", {4, 4}, 2).Weight("Wb", {4, 4}, 3);
  b.Node("MatMul", {"X", "Wm"}, {"M"});
  onnx::NodeProto* if_node = b.Node("If", {"C"}, {"Y"});
  if_node->set_name("branch");
  for (const auto& [attr, weight] : {std::pair<std::string, std::string>{"then_branch", "Wa"},
                                     {"else_branch", "Wb"}}) {
    onnx::AttributeProto* a = if_node->add_attribute();
    a->set_name(attr);
    a->set_type(onnx::AttributeProto::GRAPH);
    onnx::NodeProto* gemm = a->mutable_g()->add_node();
    gemm->set_op_type("Gemm");
    gemm->add_input("M");
    gemm->add_input(weight);
    gemm->add_output(attr + "_out");
    a->mutable_g()->add_output()->set_name(attr + "_out");
  }
  auto model = b.Build();
  auto scheme = SchemeNamed("int8-sym");
  QuantPlan plan = BuildPlan(*model, QuantizeOptions{}, false, true, *scheme, nullptr);
  EXPECT_EQ(plan.nodes, (std::vector<int>{0}));
  ASSERT_EQ(plan.constants.size(), 1u);
  EXPECT_EQ(plan.constants[0].tensor, "Wm");
  for (const std::string weight : {"Wa", "Wb"}) EXPECT_EQ(FindSkipped(plan, weight), nullptr) << weight;
}

}  // namespace
}  // namespace pq::quant
