#include "exec/float16_placement.h"

#include <set>

#include "exec/value_types.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

// ONNX Runtime 1.30's CPU float16 kernels (x86-64), by op type. Every other
// op runs in float32 between inserted Casts when its input is float16.
const std::set<std::string>& OrtCpuFloat16Ops() {
  static const std::set<std::string> kOps = {
      // Data movement, selection and types.
      "Identity", "Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Split",
      "Slice", "Gather", "GatherElements", "GatherND", "Expand", "ScatterND", "ScatterElements",
      "Shape", "ConstantOfShape", "Cast", "CastLike",
      // Elementwise.
      "Clip", "Max", "Min", "Round", "Sign", "IsNaN", "Mod",
      // Quantization.
      "DequantizeLinear", "QuantizeLinear",
      // Normalization and the decoder-LLM contrib ops.
      "LayerNormalization", "SimplifiedLayerNormalization", "SkipLayerNormalization",
      "SkipSimplifiedLayerNormalization", "RotaryEmbedding", "GroupQueryAttention", "MatMulNBits",
      "GatherBlockQuantized",
  };
  return kOps;
}

// Consumers that never make ORT round a value a float32 step produced:
// Shape and Size read no values; a Cast's Cast pair with ORT's inserted one is
// removed (to float or double it reads the float; to float16 it rounds
// itself).
bool TakesUnrounded(const std::string& op_type) {
  return op_type == "Shape" || op_type == "Size" || op_type == "Cast" || op_type == "CastLike";
}

}  // namespace

bool HasOrtCpuFloat16Kernel(const std::string& op_type) {
  return OrtCpuFloat16Ops().count(op_type) != 0;
}

std::vector<bool> RoundedValues(const PlanValues& values, const std::vector<PlanStep>& steps,
                                const std::vector<int>& graph_outputs, Float16Rounding mode) {
  const size_t n = values.names.size();
  auto type_of = [&values](int id) { return id >= 0 ? values.types[static_cast<size_t>(id)] : 0; };
  auto is_half = [&type_of](int id) { return type_of(id) == kFloat16; };
  std::vector<bool> rounded(n, false);
  for (const PlanStep& step : steps) {
    for (int id : step.outputs) {
      const OutputRounding r = RoundingFor(type_of(id));
      // ORT inserts Casts for float16 only: bfloat16 values are always stored.
      if (r == OutputRounding::kBfloat16 ||
          (r == OutputRounding::kFloat16 && mode == Float16Rounding::kEveryValue)) {
        rounded[static_cast<size_t>(id)] = true;
      }
    }
  }
  if (mode == Float16Rounding::kEveryValue) return rounded;

  std::vector<int> producer(n, -1);
  std::vector<std::vector<int>> consumers(n);
  for (size_t s = 0; s < steps.size(); ++s) {
    for (int id : steps[s].outputs) {
      if (id >= 0) producer[static_cast<size_t>(id)] = static_cast<int>(s);
    }
    for (int id : steps[s].inputs) {
      if (id >= 0) consumers[static_cast<size_t>(id)].push_back(static_cast<int>(s));
    }
  }
  std::vector<bool> is_output(n, false);
  for (int id : graph_outputs) is_output[static_cast<size_t>(id)] = true;

  // The steps ORT runs in float32: a float16 input and no float16 kernel.
  std::vector<bool> in_float32(steps.size(), false);
  for (size_t s = 0; s < steps.size(); ++s) {
    bool half_input = false;
    for (int id : steps[s].inputs) half_input = half_input || is_half(id);
    in_float32[s] = half_input && !HasOrtCpuFloat16Kernel(steps[s].node->op_type());
  }
  // Isolated float16 steps, in execution order: one with a float16 kernel
  // whose float16 inputs all come from steps, at least one of them run in
  // float32, and whose float16 outputs feed only float32 steps (no graph
  // output) runs in float32 too. (Inferred from the Casts ORT 1.30 places in
  // both tiny_llm layouts; an initializer or graph input among the float16
  // inputs keeps the step in float16.)
  for (size_t s = 0; s < steps.size(); ++s) {
    if (in_float32[s]) continue;
    int half_inputs = 0, from_steps = 0, from_float32 = 0;
    for (int id : steps[s].inputs) {
      if (!is_half(id)) continue;
      ++half_inputs;
      const int p = producer[static_cast<size_t>(id)];
      if (p < 0) continue;
      ++from_steps;
      if (in_float32[static_cast<size_t>(p)]) ++from_float32;
    }
    if (half_inputs == 0 || from_steps != half_inputs || from_float32 == 0) continue;
    bool feeds_float32_only = true, feeds_any = false;
    for (int id : steps[s].outputs) {
      if (!is_half(id)) continue;
      if (is_output[static_cast<size_t>(id)]) feeds_float32_only = false;
      for (int c : consumers[static_cast<size_t>(id)]) {
        feeds_any = true;
        if (!in_float32[static_cast<size_t>(c)]) feeds_float32_only = false;
      }
    }
    if (feeds_any && feeds_float32_only) in_float32[s] = true;
  }

  // A float16 kernel stores its outputs as float16; a step run in float32
  // has its output rounded only for a graph output or a float16 kernel that
  // reads its values, Cast aside. (ORT gives a float32 consumer of such a
  // value the unrounded float; here it reads the rounded one. In both
  // tiny_llm layouts the only such values feed Shape.)
  for (size_t s = 0; s < steps.size(); ++s) {
    for (int id : steps[s].outputs) {
      if (!is_half(id)) continue;
      bool round = !in_float32[s] || is_output[static_cast<size_t>(id)];
      for (int c : consumers[static_cast<size_t>(id)]) {
        const PlanStep& consumer = steps[static_cast<size_t>(c)];
        round = round ||
                (!in_float32[static_cast<size_t>(c)] && !TakesUnrounded(consumer.node->op_type()));
      }
      rounded[static_cast<size_t>(id)] = round;
    }
  }
  return rounded;
}

}  // namespace pq::exec
