// Direct tests of src/quant/equivalence_check.cc: a model agrees with its
// copy, a change below kEquivalenceTolerance passes, a changed weight or a
// changed output shape or count is refused naming the output.
#include "quant/equivalence_check.h"

#include <gtest/gtest.h>

#include "quant/stage_fixtures.h"

namespace pq::quant {
namespace {

// Multiplies every value of initializer `index` by `factor`.
onnx::ModelProto Scaled(onnx::ModelProto proto, int index, float factor) {
  std::string* raw = proto.mutable_graph()->mutable_initializer(index)->mutable_raw_data();
  for (size_t i = 0; i + 4 <= raw->size(); i += 4) {
    float v;
    std::memcpy(&v, raw->data() + i, 4);
    v *= factor;
    std::memcpy(raw->data() + i, &v, 4);
  }
  return proto;
}

constexpr int kWg = 3;  // ConvMlpProto's initializer index of the Gemm weight

TEST(EquivalenceCheckTest, ModelAndItsCopyAgree) {
  auto a = testing::ModelOf(testing::ConvMlpProto());
  auto b = testing::ModelOf(testing::ConvMlpProto());
  Status s = CheckSameOutputs(*a, *b, 1);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(EquivalenceCheckTest, DifferenceBelowTheToleranceAgrees) {
  const float factor = static_cast<float>(1.0 + kEquivalenceTolerance / 10);
  auto a = testing::ModelOf(testing::ConvMlpProto());
  auto b = testing::ModelOf(Scaled(testing::ConvMlpProto(), kWg, factor));
  Status s = CheckSameOutputs(*a, *b, 1);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST(EquivalenceCheckTest, ChangedWeightIsRefusedNamingTheOutput) {
  const float factor = static_cast<float>(1.0 + kEquivalenceTolerance * 100);
  auto a = testing::ModelOf(testing::ConvMlpProto());
  auto b = testing::ModelOf(Scaled(testing::ConvMlpProto(), kWg, factor));
  Status s = CheckSameOutputs(*a, *b, 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(testing::Mentions(s.message(), "output 'Y'")) << s.message();
}

TEST(EquivalenceCheckTest, DifferentOutputShapeIsRefused) {
  testing::GraphBuilder wide;
  wide.Input("X", {-1, 4}).Output("Y", {-1, 3}).Weight("W", {4, 3}, 1);
  wide.Node("MatMul", {"X", "W"}, {"Y"});
  testing::GraphBuilder narrow;
  narrow.Input("X", {-1, 4}).Output("Y", {-1, 2}).Weight("W", {4, 2}, 1);
  narrow.Node("MatMul", {"X", "W"}, {"Y"});
  Status s = CheckSameOutputs(*wide.Build(), *narrow.Build(), 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(testing::Mentions(s.message(), "output 'Y'")) << s.message();
  EXPECT_TRUE(testing::Mentions(s.message(), "shape")) << s.message();
}

TEST(EquivalenceCheckTest, DifferentOutputCountIsRefused) {
  testing::GraphBuilder one;
  one.Input("X", {-1, 4}).Output("Y", {-1, 3}).Weight("W", {4, 3}, 1);
  one.Node("MatMul", {"X", "W"}, {"Y"});
  testing::GraphBuilder two;
  two.Input("X", {-1, 4}).Output("Y", {-1, 3}).Output("Z", {-1, 3}).Weight("W", {4, 3}, 1);
  two.Node("MatMul", {"X", "W"}, {"Y"});
  two.Node("Relu", {"Y"}, {"Z"});
  for (const Status& s : {CheckSameOutputs(*one.Build(), *two.Build(), 1),
                          CheckSameOutputs(*two.Build(), *one.Build(), 1)}) {
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
    EXPECT_TRUE(testing::Mentions(s.message(), "1 and 2 outputs") ||
                testing::Mentions(s.message(), "2 and 1 outputs"))
        << s.message();
  }
}

// ids (int64 [1, 6]) -> Gather(table [rows, 4]) -> MatMul(W [4, 3]) -> Y.
// Ids outside [0, rows) would make the Gather fail.
std::unique_ptr<Model> TokenModel(int64_t rows, uint32_t weight_seed) {
  testing::GraphBuilder g;
  g.Input("ids", {1, 6}).Output("Y", {1, 6, 3}).Weight("table", {rows, 4}, 1).Weight("W", {4, 3}, weight_seed);
  g.graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::INT64);
  g.Node("Gather", {"table", "ids"}, {"E"});
  g.Node("MatMul", {"E", "W"}, {"Y"});
  return g.Build();
}

TEST(EquivalenceCheckTest, TokenIdInputsStayWithinTheTableTheyIndex) {
  // Three rows only: the sampled ids must be 0, 1 or 2 for the Gather to run.
  Status s = CheckSameOutputs(*TokenModel(3, 1), *TokenModel(3, 1), 1);
  EXPECT_TRUE(s.ok()) << s.ToString();
  s = CheckSameOutputs(*TokenModel(3, 1), *TokenModel(3, 2), 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(testing::Mentions(s.message(), "output 'Y'")) << s.message();
}

// X [2, 4] -> MatMul(W [4, 3]) -> ArgMax(axis 1) -> Y (int64 [2, 1]).
std::unique_ptr<Model> ArgMaxModel(const std::vector<float>& w) {
  testing::GraphBuilder g;
  g.Input("X", {2, 4}).Output("Y", {2, 1}).Floats("W", {4, 3}, w);
  g.graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(
      onnx::TensorProto::INT64);
  g.Node("MatMul", {"X", "W"}, {"S"});
  testing::GraphBuilder::IntAttr(g.Node("ArgMax", {"S"}, {"Y"}), "axis", 1);
  return g.Build();
}

TEST(EquivalenceCheckTest, IntegerOutputsAreComparedExactly) {
  std::vector<float> w = {1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12};
  Status s = CheckSameOutputs(*ArgMaxModel(w), *ArgMaxModel(w), 1);
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::vector<float> negated = w;
  for (float& v : negated) v = -v;  // argmax becomes argmin
  s = CheckSameOutputs(*ArgMaxModel(w), *ArgMaxModel(negated), 1);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(testing::Mentions(s.message(), "output 'Y' (int64)")) << s.message();
}

// Y = Relu(X) and Y = Relu(Min(X, 1)) agree on the generated sample (values
// in [-1, 1]) and differ on inputs above 1.
std::unique_ptr<Model> ReluModel(bool capped) {
  testing::GraphBuilder g;
  g.Input("X", {1, 4}).Output("Y", {1, 4}).Floats("one", {1}, {1.0f});
  if (capped) {
    g.Node("Min", {"X", "one"}, {"M"});
    g.Node("Relu", {"M"}, {"Y"});
  } else {
    g.Node("Relu", {"X"}, {"Y"});
  }
  return g.Build();
}

TEST(EquivalenceCheckTest, GivenFeedsAreWhatBothModelsRunOn) {
  EXPECT_TRUE(CheckSameOutputs(*ReluModel(false), *ReluModel(true), 1).ok());
  std::vector<Feeds> inside = {{{"X", testing::Floats({1, 4}, {-0.5f, 0.25f, 0.5f, 1.0f})}}};
  EXPECT_TRUE(CheckSameOutputs(*ReluModel(false), *ReluModel(true), 1, kEquivalenceTolerance, inside).ok());
  std::vector<Feeds> outside = {inside[0], {{"X", testing::Floats({1, 4}, {-2.0f, 0.5f, 3.0f, 4.0f})}}};
  Status s = CheckSameOutputs(*ReluModel(false), *ReluModel(true), 1, kEquivalenceTolerance, outside);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(testing::Mentions(s.message(), "output 'Y'")) << s.message();
}

TEST(EquivalenceCheckTest, ToleranceIsTheCallers) {
  // A change of 1e-6 relative: inside the default, outside 1e-7.
  const float factor = static_cast<float>(1.0 + kEquivalenceTolerance / 10);
  auto a = testing::ModelOf(testing::ConvMlpProto());
  auto b = testing::ModelOf(Scaled(testing::ConvMlpProto(), kWg, factor));
  EXPECT_TRUE(CheckSameOutputs(*a, *b, 1, kEquivalenceTolerance).ok());
  EXPECT_FALSE(CheckSameOutputs(*a, *b, 1, kEquivalenceTolerance / 100).ok());
}

}  // namespace
}  // namespace pq::quant
