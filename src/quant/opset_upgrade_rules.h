// The per-op rewrites of pq's opset upgrade (src/quant/opset_upgrade.cc):
// one row per (op, opset where its signature or meaning changed), each
// rewriting a node written for an older opset into the form the newer one
// reads with the same meaning. Internal to the upgrade.
#ifndef PQ_QUANT_OPSET_UPGRADE_RULES_H_
#define PQ_QUANT_OPSET_UPGRADE_RULES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/model.h"
#include "pq/status.h"
#include "quant/name_allocator.h"

namespace pq::quant::upgrade {

// What is declared about a value: its element type (0 unknown) and rank
// (-1 unknown).
struct ValueFacts {
  int32_t elem_type = 0;
  int rank = -1;
};

// What a rewrite sees of the model around the node it rewrites.
class UpgradeContext {
 public:
  // `main` receives the new initializers (visible to every subgraph);
  // `model` is the model being upgraded (for its constants).
  UpgradeContext(int64_t from, int64_t target, const Model& model, onnx::GraphProto* main,
                 NameAllocator* names)
      : from_(from), target_(target), model_(model), main_(main), names_(names) {}

  int64_t from() const { return from_; }
  int64_t target() const { return target_; }
  // A name no value or node of the model uses yet, from `node`'s name (or
  // op) and `what`.
  std::string NewName(const onnx::NodeProto& node, const std::string& what);
  // Adds an int64 initializer of shape [values.size()] (or a scalar) and
  // returns its name.
  std::string AddInt64s(const onnx::NodeProto& node, const std::string& what,
                        const std::vector<int64_t>& values, bool scalar = false);
  // Adds a float initializer of shape `dims` and returns its name.
  std::string AddFloats(const onnx::NodeProto& node, const std::string& what,
                        const std::vector<float>& values, const std::vector<int64_t>& dims);
  // Adds a scalar `value` of ONNX type `dtype` (float or double; 0 = unknown
  // means float). Errors: kNotSupported for other types, naming the node.
  Result<std::string> AddScalarOfType(const onnx::NodeProto& node, const std::string& what,
                                      double value, int32_t dtype);
  // Declared facts about `value` (graph inputs, outputs, value_info,
  // initializers of the graphs entered so far).
  ValueFacts Facts(const std::string& value) const;
  // The constant (initializer or Constant output) of the main graph named
  // `name`, or null.
  const ConstantTensor* Constant(const std::string& name) const { return model_.FindConstant(name); }
  // Records what `graph` declares (called on entering each graph).
  void Declare(const onnx::GraphProto& graph);

 private:
  int64_t from_, target_;
  const Model& model_;
  onnx::GraphProto* main_;
  NameAllocator* names_;
  std::map<std::string, ValueFacts> facts_;
};

// Nodes a rewrite adds around the one it rewrites, and whether it changed
// anything.
struct NodeEdit {
  std::vector<onnx::NodeProto> before;
  std::vector<onnx::NodeProto> after;
  bool changed = false;
};

// Rewrites `node`, a default-domain node read at an opset before the row's
// `changed_at`, into the form opset `changed_at` reads with the same
// meaning. Errors: kNotSupported naming the node when that is not possible.
using RewriteFn = Status (*)(onnx::NodeProto* node, UpgradeContext& ctx, NodeEdit* edit);

struct UpgradeRule {
  const char* op;
  int64_t changed_at;
  RewriteFn rewrite;
};

// The rows, in increasing `changed_at` per op (a node passes through each
// row with from < changed_at <= target, in order).
const std::vector<UpgradeRule>& UpgradeRules();

// "node 'name' (Op)".
std::string NodeLabel(const onnx::NodeProto& node);

}  // namespace pq::quant::upgrade

#endif  // PQ_QUANT_OPSET_UPGRADE_RULES_H_
