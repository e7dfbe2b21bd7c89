// The ops pq's executor runs at default-domain opsets 1-6: those whose
// schema at that opset means what pq's kernel computes (ONNX's operator
// changelog). Everything else is refused there, naming the node.
#include "exec/legacy_opset.h"

#include <string>

#include "base/onnx_domain.h"
#include "exec/kernel.h"

namespace pq::exec {
namespace {

// One op: the first version before 7 whose meaning pq runs, and what the
// versions before it have that pq does not implement.
struct LegacyOp {
  const char* op_type;
  int since_version;
  const char* older;
};

constexpr const char* kConsumedInputs = "the legacy consumed_inputs attribute";

constexpr LegacyOp kLegacyOps[] = {
    // Version 1 carried consumed_inputs; version 6 is today's op.
    {"Abs", 6, kConsumedInputs},
    {"Ceil", 6, kConsumedInputs},
    {"Clip", 6, kConsumedInputs},
    {"Elu", 6, kConsumedInputs},
    {"Exp", 6, kConsumedInputs},
    {"Floor", 6, kConsumedInputs},
    {"HardSigmoid", 6, kConsumedInputs},
    {"InstanceNormalization", 6, kConsumedInputs},
    {"LeakyRelu", 6, kConsumedInputs},
    {"Log", 6, kConsumedInputs},
    {"Neg", 6, kConsumedInputs},
    {"Reciprocal", 6, kConsumedInputs},
    {"Relu", 6, kConsumedInputs},
    {"Selu", 6, kConsumedInputs},
    {"Sigmoid", 6, kConsumedInputs},
    {"Sqrt", 6, kConsumedInputs},
    {"Tanh", 6, kConsumedInputs},
    // Unchanged in meaning since version 1 (later versions add types,
    // negative axes or inputs a version-1 node does not use).
    {"ArgMax", 1, ""},
    {"ArgMin", 1, ""},
    {"AveragePool", 1, ""},
    {"Conv", 1, ""},
    {"DepthToSpace", 1, ""},
    {"Flatten", 1, ""},
    {"GlobalAveragePool", 1, ""},
    {"GlobalMaxPool", 1, ""},
    {"Hardmax", 1, ""},
    {"Identity", 1, ""},
    {"LogSoftmax", 1, ""},
    {"LRN", 1, ""},
    {"MatMul", 1, ""},
    {"MaxPool", 1, ""},
    {"Not", 1, ""},
    {"ReduceL1", 1, ""},
    {"ReduceL2", 1, ""},
    {"ReduceLogSum", 1, ""},
    {"ReduceLogSumExp", 1, ""},
    {"ReduceMax", 1, ""},
    {"ReduceMean", 1, ""},
    {"ReduceMin", 1, ""},
    {"ReduceProd", 1, ""},
    {"ReduceSum", 1, ""},
    {"ReduceSumSquare", 1, ""},
    {"Shape", 1, ""},
    {"Size", 1, ""},
    {"Softmax", 1, ""},
    {"Softplus", 1, ""},
    {"Softsign", 1, ""},
    {"SpaceToDepth", 1, ""},
    {"Transpose", 1, ""},
    // Changed in meaning before 6.
    {"Cast", 6, "'to' given as a type name string"},
    {"Concat", 4, "an optional axis defaulting to 1"},
    {"Reshape", 5, "the shape as an attribute and consumed_inputs"},
    {"Split", 2, "the split sizes as an optional second input"},
    {"Pad", 2, "the paddings attribute"},
    {"Tile", 6, "the tiles and axis inputs"},
};

// Why ops absent from the table are refused, for the common ones.
const char* WhyNotRun(const std::string& op_type) {
  if (op_type == "Add" || op_type == "Sub" || op_type == "Mul" || op_type == "Div" ||
      op_type == "Pow" || op_type == "And" || op_type == "Or" || op_type == "Xor" ||
      op_type == "Equal" || op_type == "Greater" || op_type == "Less" || op_type == "PRelu" ||
      op_type == "Gemm") {
    return "its version before 7 has the legacy broadcast/axis attributes";
  }
  if (op_type == "BatchNormalization") return "its version before 7 has spatial, is_test and consumed_inputs";
  if (op_type == "Dropout") return "its version before 7 has is_test and consumed_inputs";
  if (op_type == "Sum" || op_type == "Max" || op_type == "Min" || op_type == "Mean") {
    return "its version before 8 does not broadcast (and version 1 has consumed_inputs)";
  }
  return "pq implements this op as defined from opset 7";
}

}  // namespace

Status CheckLegacyOpset(const onnx::NodeProto& node, int64_t opset) {
  if (opset >= kFirstCurrentOpset || !IsDefaultDomain(node.domain())) return Status::OK();
  const std::string prefix = DescribeNode(node) + " at default-domain opset " +
                             std::to_string(opset) + " is not supported by pq's executor: ";
  for (const LegacyOp& op : kLegacyOps) {
    if (node.op_type() != op.op_type) continue;
    if (opset >= op.since_version) return Status::OK();
    return Status::NotSupported(prefix + node.op_type() + " before opset " +
                                std::to_string(op.since_version) + " has " + op.older);
  }
  return Status::NotSupported(prefix + WhyNotRun(node.op_type()));
}

}  // namespace pq::exec
