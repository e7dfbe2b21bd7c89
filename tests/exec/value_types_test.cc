// Tests of src/exec/value_types.cc: which values of a graph are float16 (and
// so rounded by the executor) and which are not.
#include "exec/value_types.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/float16_placement.h"
#include "exec/plan_test_util.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

int32_t TypeOf(const Plan& plan, const std::vector<int32_t>& types, const std::string& name) {
  return types[static_cast<size_t>(plan.values.ids.at(name))];
}

TEST(InferValueTypesTest, FollowsFloat16ThroughComputeMovementAndContribOps) {
  onnx::GraphProto g;
  AddNode(&g, "Gather", {"table", "ids"}, {"emb"});
  AddNode(&g, "SimplifiedLayerNormalization", {"emb", "gamma"}, {"norm", "inv_std"});
  AddNode(&g, "MatMul", {"norm", "w"}, {"q"});
  AddNode(&g, "Reshape", {"q", "shape"}, {"q4"});
  AddNode(&g, "Shape", {"q4"}, {"q_shape"});
  AddNode(&g, "GroupQueryAttention", {"q4", "k", "v", "past_k", "past_v", "seqlens", "total"},
          {"attn", "present_k", "present_v"});
  AddNode(&g, "SkipSimplifiedLayerNormalization", {"attn", "emb", "gamma"}, {"y", "mean", "istd", "sum"});
  AddNode(&g, "GatherBlockQuantized", {"codes", "ids", "scales"}, {"deq"});
  AddNode(&g, "MatMulNBits", {"y", "codes", "scales"}, {"lm"});
  Plan plan = MakePlan(g, {{"table", kFloat16}, {"ids", kInt64}, {"gamma", kFloat16}, {"w", kFloat16},
                           {"shape", kInt64}, {"k", kFloat16}, {"v", kFloat16}, {"past_k", kFloat16},
                           {"past_v", kFloat16}, {"seqlens", kInt32}, {"total", kInt32},
                           {"codes", kUint8}, {"scales", kFloat16}});
  const std::vector<int32_t> types = InferValueTypes(g, plan.values, plan.steps);
  for (const char* name : {"emb", "norm", "q", "q4", "attn", "present_k", "present_v", "y", "sum", "deq", "lm"}) {
    EXPECT_EQ(TypeOf(plan, types, name), kFloat16) << name;
  }
  // Normalization statistics are float32; shapes are int64.
  for (const char* name : {"inv_std", "mean", "istd"}) EXPECT_EQ(TypeOf(plan, types, name), kFloat) << name;
  EXPECT_EQ(TypeOf(plan, types, "q_shape"), kInt64);
}

TEST(InferValueTypesTest, CastsWhereAndDtypeAttributesSetTheType) {
  onnx::GraphProto g;
  AddInt(AddNode(&g, "Cast", {"x"}, {"x16"}), "to", kFloat16);
  AddNode(&g, "Mul", {"x16", "x16"}, {"sq"});
  AddInt(AddNode(&g, "Cast", {"sq"}, {"sq32"}), "to", kFloat);
  AddNode(&g, "Greater", {"sq", "x16"}, {"mask"});
  AddNode(&g, "Where", {"mask", "x", "x"}, {"picked"});  // the bool condition is not the type
  AddNode(&g, "CastLike", {"x", "sq"}, {"like"});
  AddInt(AddNode(&g, "Cast", {"x"}, {"bf"}), "to", kBfloat16);
  AddNode(&g, "Relu", {"bf"}, {"bf_relu"});
  AddNode(&g, "ConstantOfShape", {"shape"}, {"zeros"});  // no value: float
  AddInt(AddNode(&g, "RandomNormalLike", {"x"}, {"noise"}), "dtype", kFloat16);
  AddNode(&g, "DequantizeLinear", {"codes", "scale16"}, {"dq"});
  Plan plan = MakePlan(g, {{"x", kFloat}, {"shape", kInt64}, {"codes", kInt8}, {"scale16", kFloat16}});
  const std::vector<int32_t> types = InferValueTypes(g, plan.values, plan.steps);
  EXPECT_EQ(TypeOf(plan, types, "x16"), kFloat16);
  EXPECT_EQ(TypeOf(plan, types, "sq"), kFloat16);
  EXPECT_EQ(TypeOf(plan, types, "sq32"), kFloat);
  EXPECT_EQ(TypeOf(plan, types, "mask"), kBool);
  EXPECT_EQ(TypeOf(plan, types, "picked"), kFloat);
  EXPECT_EQ(TypeOf(plan, types, "like"), kFloat16);
  EXPECT_EQ(TypeOf(plan, types, "bf_relu"), kBfloat16);
  EXPECT_EQ(TypeOf(plan, types, "zeros"), kFloat);
  EXPECT_EQ(TypeOf(plan, types, "noise"), kFloat16);
  EXPECT_EQ(TypeOf(plan, types, "dq"), kFloat16);
}

TEST(InferValueTypesTest, ValueInfoAndGraphOutputsOverridePropagation) {
  onnx::GraphProto g;
  AddNode(&g, "Relu", {"x"}, {"a"});
  AddNode(&g, "Relu", {"a"}, {"b"});
  auto declare = [](onnx::ValueInfoProto* v, const std::string& name, int32_t dtype) {
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(dtype);
  };
  declare(g.add_value_info(), "a", kFloat16);
  declare(g.add_output(), "b", kFloat);
  Plan plan = MakePlan(g, {{"x", kFloat}});
  const std::vector<int32_t> types = InferValueTypes(g, plan.values, plan.steps);
  EXPECT_EQ(TypeOf(plan, types, "a"), kFloat16);
  EXPECT_EQ(TypeOf(plan, types, "b"), kFloat);
}

TEST(InferValueTypesTest, AFloat32GraphHasNoRoundedValue) {
  onnx::GraphProto g;
  AddNode(&g, "MatMul", {"x", "w"}, {"y"});
  AddNode(&g, "Softmax", {"y"}, {"p"});
  AddNode(&g, "TopK", {"p", "k"}, {"top", "idx"});
  Plan plan = MakePlan(g, {{"x", kFloat}, {"w", kFloat}, {"k", kInt64}});
  plan.values.types = InferValueTypes(g, plan.values, plan.steps);
  EXPECT_EQ(TypeOf(plan, plan.values.types, "idx"), kInt64);
  for (Float16Rounding mode : {Float16Rounding::kOnnxRuntimeCpu, Float16Rounding::kEveryValue}) {
    const std::vector<bool> rounded = RoundedValues(plan.values, plan.steps, {}, mode);
    SetRounding(plan.values, rounded, &plan.steps);
    for (const PlanStep& step : plan.steps) EXPECT_TRUE(step.rounding.empty()) << step.node->op_type();
  }
}

TEST(RoundingForTest, OnlyFloat16AndBfloat16AreRounded) {
  EXPECT_EQ(RoundingFor(kFloat16), OutputRounding::kFloat16);
  EXPECT_EQ(RoundingFor(kBfloat16), OutputRounding::kBfloat16);
  for (int32_t t : {0, static_cast<int32_t>(kFloat), static_cast<int32_t>(kDouble), static_cast<int32_t>(kInt64)}) {
    EXPECT_EQ(RoundingFor(t), OutputRounding::kNone) << t;
  }
}

}  // namespace
}  // namespace pq::exec
