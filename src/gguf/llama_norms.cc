// RMSNorm matching of llama_match.h: the decomposed form torch exports and
// the fused ONNX / ONNX Runtime ops.
#include <cmath>

#include "gguf/llama_match.h"

namespace pq::gguf::internal {
namespace {

constexpr double kDefaultEpsilon = 1e-5;  // SimplifiedLayerNormalization's default

bool IsOp(const onnx::NodeProto& node, const char* op) { return node.op_type() == op; }

// The consumer of `tensor` with op type `op` (any input position when
// `input` is -1), or nullptr.
const onnx::NodeProto* ConsumerOf(const GraphView& view, const std::string& tensor, const char* op,
                                  int input = -1) {
  for (const onnx::NodeProto* node : view.Consumers(tensor)) {
    if (!IsOp(*node, op)) continue;
    if (input < 0 || (node->input_size() > input && node->input(input) == tensor)) return node;
  }
  return nullptr;
}

// The input of a binary `node` other than `tensor`.
std::string OtherInput(const onnx::NodeProto& node, const std::string& tensor) {
  return node.input(0) == tensor ? node.input(1) : node.input(0);
}

// The stage that squares `x`: Pow(x, 2) or Mul(x, x).
const onnx::NodeProto* SquareOf(const GraphView& view, const std::string& x) {
  for (const onnx::NodeProto* node : view.Consumers(x)) {
    if (IsOp(*node, "Pow") && node->input(0) == x) {
      const std::optional<double> exponent = ScalarOf(view, node->input(1));
      if (exponent && *exponent == 2.0) return node;
    }
    if (IsOp(*node, "Mul") && node->input(0) == x && node->input(1) == x) return node;
  }
  return nullptr;
}

// Applies the gamma Mul after `scaled` (seen through one Cast): fills
// match->output/gamma, or returns false.
bool MatchGamma(const GraphView& view, std::string scaled, NormMatch* match) {
  if (const onnx::NodeProto* cast = ConsumerOf(view, scaled, "Cast", 0)) {
    if (view.Consumers(scaled).size() == 1) scaled = cast->output(0);
  }
  for (const onnx::NodeProto* node : view.Consumers(scaled)) {
    if (!IsOp(*node, "Mul")) continue;
    const std::string other = OtherInput(*node, scaled);
    const std::optional<ConstantRef> ref = ResolveConstant(view, other);
    if (!ref || ref->constant->dims.size() != 1) continue;
    match->gamma = other;
    match->output = node->output(0);
    match->last = node;
    return true;
  }
  return false;
}

// The decomposed RMSNorm of `x`.
std::optional<NormMatch> MatchDecomposed(const GraphView& view, const std::string& x) {
  const onnx::NodeProto* square = SquareOf(view, x);
  if (square == nullptr) return std::nullopt;
  const onnx::NodeProto* mean = ConsumerOf(view, square->output(0), "ReduceMean", 0);
  if (mean == nullptr) return std::nullopt;
  const onnx::NodeProto* add = ConsumerOf(view, mean->output(0), "Add");
  if (add == nullptr) return std::nullopt;
  const std::string epsilon_tensor = OtherInput(*add, mean->output(0));
  const std::optional<double> epsilon = ScalarOf(view, epsilon_tensor);
  if (!epsilon) return std::nullopt;
  const onnx::NodeProto* sqrt = ConsumerOf(view, add->output(0), "Sqrt", 0);
  if (sqrt == nullptr) return std::nullopt;
  NormMatch match;
  match.residual = x;
  match.epsilon = *epsilon;
  match.epsilon_type = ResolveConstant(view, epsilon_tensor)->constant->data_type;
  const std::string root = sqrt->output(0);
  // x / sqrt(.)
  for (const onnx::NodeProto* node : view.Consumers(root)) {
    if (IsOp(*node, "Div") && node->input(0) == x && node->input(1) == root) {
      if (MatchGamma(view, node->output(0), &match)) return match;
    }
  }
  // x * (1 / sqrt(.)) or x * Reciprocal(sqrt(.))
  std::string inverse;
  for (const onnx::NodeProto* node : view.Consumers(root)) {
    if (IsOp(*node, "Reciprocal")) inverse = node->output(0);
    if (IsOp(*node, "Div") && node->input(1) == root) {
      const std::optional<double> one = ScalarOf(view, node->input(0));
      if (one && *one == 1.0) inverse = node->output(0);
    }
  }
  if (inverse.empty()) return std::nullopt;
  for (const onnx::NodeProto* node : view.Consumers(inverse)) {
    if (IsOp(*node, "Mul") && OtherInput(*node, inverse) == x) {
      if (MatchGamma(view, node->output(0), &match)) return match;
    }
  }
  return std::nullopt;
}

// A fused norm reading `x` (and `skip` for the Skip form).
std::optional<NormMatch> MatchFused(const GraphView& view, const std::string& x,
                                    const std::string& skip) {
  for (const onnx::NodeProto* node : view.Consumers(x)) {
    const std::string& op = node->op_type();
    NormMatch match;
    if (skip.empty() && (op == "SimplifiedLayerNormalization" || op == "RMSNormalization") &&
        node->input_size() >= 2 && node->input(0) == x) {
      match.residual = x;
      match.gamma = node->input(1);
    } else if (op == "SkipSimplifiedLayerNormalization" && node->input_size() >= 3) {
      const bool pair = skip.empty()
                            ? node->input(0) == x && node->input(1).empty()
                            : (node->input(0) == x && node->input(1) == skip) ||
                                  (node->input(0) == skip && node->input(1) == x);
      if (!pair) continue;
      match.gamma = node->input(2);
      // Output 3 is the residual sum; the final norm may leave it out.
      match.residual = node->output_size() > 3 ? node->output(3) : std::string();
    } else {
      continue;
    }
    match.output = node->output(0);
    match.epsilon = FloatAttr(*node, "epsilon", kDefaultEpsilon);
    match.last = node;
    return match;
  }
  return std::nullopt;
}

}  // namespace

std::optional<NormMatch> MatchRmsNorm(const GraphView& view, const std::string& residual,
                                      const std::string& pending) {
  if (!pending.empty()) {
    if (std::optional<NormMatch> fused = MatchFused(view, residual, pending)) return fused;
    // residual + pending as an Add node, then a norm of the sum.
    for (const onnx::NodeProto* node : view.Consumers(pending)) {
      if (!IsOp(*node, "Add") || OtherInput(*node, pending) != residual) continue;
      return MatchRmsNorm(view, node->output(0), "");
    }
    return std::nullopt;
  }
  if (std::optional<NormMatch> fused = MatchFused(view, residual, "")) return fused;
  return MatchDecomposed(view, residual);
}

}  // namespace pq::gguf::internal
