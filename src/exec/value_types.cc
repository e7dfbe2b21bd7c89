#include "exec/value_types.h"

#include <set>
#include <string>

#include "pq/data_type.h"

namespace pq::exec {
namespace {

// Ops all of whose outputs are bool, and those all of whose outputs are int64.
const std::set<std::string>& BoolOps() {
  static const std::set<std::string> kOps = {"Equal", "Less",  "Greater", "LessOrEqual",
                                             "GreaterOrEqual", "Not", "And", "Or",
                                             "Xor", "IsNaN", "IsInf"};
  return kOps;
}
const std::set<std::string>& Int64Ops() {
  static const std::set<std::string> kOps = {"Shape", "Size", "NonZero", "ArgMax", "ArgMin"};
  return kOps;
}

bool IsFloatType(int32_t dtype) {
  return dtype == kFloat || dtype == kFloat16 || dtype == kBfloat16 || dtype == kDouble;
}

const onnx::AttributeProto* FindAttr(const onnx::NodeProto& node, const char* name) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

int32_t IntAttr(const onnx::NodeProto& node, const char* name, int32_t def) {
  const onnx::AttributeProto* a = FindAttr(node, name);
  return a != nullptr && a->i() != 0 ? static_cast<int32_t>(a->i()) : def;
}

// The data type of tensor attribute `name`, or `def`.
int32_t TensorAttrType(const onnx::NodeProto& node, const char* name, int32_t def) {
  const onnx::AttributeProto* a = FindAttr(node, name);
  return a != nullptr && a->has_t() ? a->t().data_type() : def;
}

// The element type of output `output` of `node`, given its inputs' types (0
// for unknown or missing inputs).
int32_t OutputType(const onnx::NodeProto& node, int64_t opset, int output,
                   const std::vector<int32_t>& in) {
  const std::string& op = node.op_type();
  auto input = [&in](size_t i) { return i < in.size() ? in[i] : 0; };
  int32_t first_float = 0;
  for (int32_t t : in) {
    if (IsFloatType(t)) {
      first_float = t;
      break;
    }
  }
  const int32_t follows = first_float != 0 ? first_float : input(0);

  if (BoolOps().count(op) != 0) return kBool;
  if (Int64Ops().count(op) != 0) return kInt64;
  if (op == "Cast") return IntAttr(node, "to", 0);
  if (op == "CastLike") return input(1);
  if (op == "Constant") return TensorAttrType(node, "value", 0);
  if (op == "ConstantOfShape") return TensorAttrType(node, "value", kFloat);
  if (op == "Where") return input(1);
  if (op == "DequantizeLinear") return IntAttr(node, "output_dtype", input(1));
  if (op == "QuantizeLinear") {
    return IntAttr(node, "output_dtype", input(2) != 0 ? input(2) : kUint8);
  }
  if (op == "DynamicQuantizeLinear") return output == 1 ? kFloat : kUint8;
  if (op == "RandomNormal" || op == "RandomUniform") return IntAttr(node, "dtype", kFloat);
  if (op == "EyeLike" || op == "RandomNormalLike" || op == "RandomUniformLike" ||
      op == "Bernoulli") {
    return IntAttr(node, "dtype", input(0));
  }
  if (op == "Multinomial") return IntAttr(node, "dtype", kInt32);
  if (output > 0) {
    // Normalization statistics are float32 (stash_type) beside a T result;
    // SkipLayerNormalization's output 3 (input + skip + bias) is T.
    if (op == "LayerNormalization" || op == "SimplifiedLayerNormalization") {
      return IntAttr(node, "stash_type", kFloat);
    }
    if ((op == "SkipLayerNormalization" || op == "SkipSimplifiedLayerNormalization") &&
        output < 3) {
      return kFloat;
    }
    if (op == "TopK" || op == "MaxPool" || op == "Unique") return kInt64;
    if (op == "Dropout" && opset >= 10) return kBool;
  }
  return follows;
}

}  // namespace

std::vector<int32_t> InferValueTypes(const onnx::GraphProto& graph, const PlanValues& values,
                                     const std::vector<PlanStep>& steps) {
  std::vector<int32_t> types = values.declared_dtypes;
  types.resize(values.names.size(), 0);
  std::vector<bool> declared(types.size(), false);
  for (size_t id = 0; id < types.size(); ++id) declared[id] = types[id] != 0;
  for (const auto* list : {&graph.value_info(), &graph.output()}) {
    for (const onnx::ValueInfoProto& v : *list) {
      auto it = values.ids.find(v.name());
      if (it == values.ids.end() || !v.type().has_tensor_type()) continue;
      const int32_t dtype = v.type().tensor_type().elem_type();
      if (dtype == 0) continue;
      types[static_cast<size_t>(it->second)] = dtype;
      declared[static_cast<size_t>(it->second)] = true;
    }
  }
  std::vector<int32_t> in;
  for (const PlanStep& step : steps) {
    in.clear();
    for (int id : step.inputs) in.push_back(id >= 0 ? types[static_cast<size_t>(id)] : 0);
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      const int id = step.outputs[o];
      if (id < 0 || declared[static_cast<size_t>(id)]) continue;
      types[static_cast<size_t>(id)] = OutputType(*step.node, step.opset, static_cast<int>(o), in);
    }
  }
  return types;
}

OutputRounding RoundingFor(int32_t dtype) {
  if (dtype == kFloat16) return OutputRounding::kFloat16;
  if (dtype == kBfloat16) return OutputRounding::kBfloat16;
  return OutputRounding::kNone;
}

}  // namespace pq::exec
