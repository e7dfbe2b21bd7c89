// Tests of src/exec/float16_placement.cc: which float16 values the executor
// rounds, under ONNX Runtime's CPU placement and under kEveryValue.
#include "exec/float16_placement.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/plan_test_util.h"
#include "exec/value_types.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

// The names of the rounded values of `graph` under `mode`.
std::vector<std::string> Rounded(const onnx::GraphProto& graph,
                                 const std::vector<std::pair<std::string, int32_t>>& declared,
                                 const std::vector<std::string>& outputs, Float16Rounding mode) {
  Plan plan = MakePlan(graph, declared);
  plan.values.types = InferValueTypes(graph, plan.values, plan.steps);
  std::vector<int> output_ids;
  for (const std::string& name : outputs) output_ids.push_back(plan.values.ids.at(name));
  const std::vector<bool> rounded = RoundedValues(plan.values, plan.steps, output_ids, mode);
  std::vector<std::string> names;
  for (size_t id = 0; id < rounded.size(); ++id) {
    if (rounded[id]) names.push_back(plan.values.names[id]);
  }
  return names;
}

// A SwiGLU MLP between two layer norms, as the genai layout has it.
onnx::GraphProto MlpGraph() {
  onnx::GraphProto g;
  AddNode(&g, "SimplifiedLayerNormalization", {"x", "gamma"}, {"h"});
  AddNode(&g, "MatMul", {"h", "w_gate"}, {"gate"});
  AddNode(&g, "Sigmoid", {"gate"}, {"sig"});
  AddNode(&g, "Mul", {"gate", "sig"}, {"silu"});
  AddNode(&g, "MatMul", {"h", "w_up"}, {"up"});
  AddNode(&g, "Mul", {"silu", "up"}, {"prod"});
  AddNode(&g, "MatMul", {"prod", "w_down"}, {"down"});
  AddNode(&g, "Shape", {"down"}, {"down_shape"});
  AddNode(&g, "SkipSimplifiedLayerNormalization", {"down", "x", "gamma"}, {"y"});
  AddNode(&g, "MatMul", {"y", "w_head"}, {"logits"});
  return g;
}

const std::vector<std::pair<std::string, int32_t>> kMlpDeclared = {
    {"x", kFloat16},     {"gamma", kFloat16}, {"w_gate", kFloat16},
    {"w_up", kFloat16},  {"w_down", kFloat16}, {"w_head", kFloat16}};

TEST(RoundedValuesTest, OrtCpuRoundsOnlyWhereFloat16IsStored) {
  const onnx::GraphProto g = MlpGraph();
  // The MLP runs in float32 in ORT: gate, sig, silu, up and prod pass
  // unrounded; down is rounded for the layer norm (Shape does not count),
  // the norms store float16, logits is a graph output.
  EXPECT_EQ(Rounded(g, kMlpDeclared, {"logits"}, Float16Rounding::kOnnxRuntimeCpu),
            (std::vector<std::string>{"h", "down", "y", "logits"}));
}

TEST(RoundedValuesTest, EveryValueRoundsEveryFloat16Value) {
  const onnx::GraphProto g = MlpGraph();
  EXPECT_EQ(Rounded(g, kMlpDeclared, {"logits"}, Float16Rounding::kEveryValue),
            (std::vector<std::string>{"h", "gate", "sig", "silu", "up", "prod", "down", "y", "logits"}));
}

TEST(RoundedValuesTest, AFloat16KernelBetweenFloat32OpsRunsInFloat32) {
  // rotate_half of rotary embeddings: Concat(-x2, x1) between Neg and Mul
  // runs in float32 in ORT; the Slices (fed by a float16 Transpose) do not.
  onnx::GraphProto g;
  AddNode(&g, "MatMul", {"x", "w"}, {"q"});
  AddNode(&g, "Transpose", {"q"}, {"qt"});
  AddNode(&g, "Slice", {"qt", "s0", "e0", "ax"}, {"x1"});
  AddNode(&g, "Slice", {"qt", "s1", "e1", "ax"}, {"x2"});
  AddNode(&g, "Neg", {"x2"}, {"neg"});
  AddNode(&g, "Concat", {"neg", "x1"}, {"rot"});
  AddNode(&g, "Mul", {"rot", "sin"}, {"rs"});
  AddNode(&g, "Concat", {"neg", "c"}, {"with_constant"});  // an initializer input keeps float16
  AddNode(&g, "Mul", {"with_constant", "sin"}, {"wc"});
  AddNode(&g, "Add", {"rs", "wc"}, {"out"});
  const std::vector<std::pair<std::string, int32_t>> declared = {
      {"x", kFloat16}, {"w", kFloat16}, {"sin", kFloat16}, {"c", kFloat16}, {"s0", kInt64},
      {"e0", kInt64},  {"s1", kInt64},  {"e1", kInt64},    {"ax", kInt64}};
  EXPECT_EQ(Rounded(g, declared, {"out"}, Float16Rounding::kOnnxRuntimeCpu),
            (std::vector<std::string>{"q", "qt", "x1", "x2", "neg", "with_constant", "out"}));
}

TEST(RoundedValuesTest, ACastAfterAFloat32OpTakesTheUnroundedFloat) {
  // ORT removes its inserted Cast to float16 together with the model's Cast
  // back to float.
  onnx::GraphProto g;
  AddNode(&g, "MatMul", {"x", "w"}, {"y"});
  AddInt(AddNode(&g, "Cast", {"y"}, {"y32"}), "to", kFloat);
  AddNode(&g, "Relu", {"y32"}, {"out"});
  EXPECT_EQ(Rounded(g, {{"x", kFloat16}, {"w", kFloat16}}, {"out"}, Float16Rounding::kOnnxRuntimeCpu),
            std::vector<std::string>{});
}

TEST(RoundedValuesTest, Bfloat16IsAlwaysRounded) {
  onnx::GraphProto g;
  AddNode(&g, "MatMul", {"x", "w"}, {"y"});
  AddNode(&g, "Relu", {"y"}, {"z"});
  EXPECT_EQ(Rounded(g, {{"x", kBfloat16}, {"w", kBfloat16}}, {"z"}, Float16Rounding::kOnnxRuntimeCpu),
            (std::vector<std::string>{"y", "z"}));
}

TEST(HasOrtCpuFloat16KernelTest, DataMovementAndLlmOpsHaveOneComputeOpsDoNot) {
  for (const char* op : {"Reshape", "Transpose", "Gather", "Concat", "Cast", "GroupQueryAttention",
                         "SkipSimplifiedLayerNormalization", "MatMulNBits", "RotaryEmbedding"}) {
    EXPECT_TRUE(HasOrtCpuFloat16Kernel(op)) << op;
  }
  for (const char* op : {"MatMul", "Add", "Mul", "Softmax", "Sigmoid", "Where", "MatMulBnb4", "Conv"}) {
    EXPECT_FALSE(HasOrtCpuFloat16Kernel(op)) << op;
  }
}

}  // namespace
}  // namespace pq::exec
