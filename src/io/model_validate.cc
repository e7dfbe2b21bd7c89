#include "io/model_validate.h"

#include <map>
#include <set>

#include "base/onnx_domain.h"
#include "io/external_data.h"
#include "io/tensor_bytes.h"
#include "onnx/onnx_pb.h"

namespace pq {
namespace {

std::string NodeLabel(const onnx::NodeProto& node, int index) {
  std::string name = node.name().empty() ? "#" + std::to_string(index) : "'" + node.name() + "'";
  return "node " + name + " (" + node.op_type() + ")";
}

class Validator {
 public:
  Validator(std::string origin, ExternalDataStore* store) : origin_(std::move(origin)), store_(store) {}

  Status Tensor(const onnx::TensorProto& tensor, const std::string& label) {
    const std::string where = origin_ + ": " + label;
    if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
      Result<int64_t> expected = ExpectedRawBytes(tensor, where);
      if (!expected.ok()) return expected.status();
      if (tensor.has_raw_data()) {
        return Status::InvalidInput(where + ": is marked external but also holds raw_data");
      }
      Result<const uint8_t*> bytes = store_->Resolve(tensor, tensor.name(), expected.value());
      return bytes.status();
    }
    return CheckInlineTensorData(tensor, where);
  }

  Status Graph(const onnx::GraphProto& graph, const std::set<std::string>& outer, int depth) {
    if (depth > kMaxSubgraphDepth) {
      return Status::InvalidInput(origin_ + ": subgraphs are nested deeper than " +
                                  std::to_string(kMaxSubgraphDepth) + " levels");
    }
    std::set<std::string> defined;
    std::set<std::string> inputs;
    for (const auto& input : graph.input()) {
      if (!inputs.insert(input.name()).second) {
        return Status::InvalidInput(origin_ + ": graph input '" + input.name() +
                                    "' is declared twice");
      }
    }
    defined = inputs;
    std::set<std::string> initializers;
    for (const auto& init : graph.initializer()) {
      if (init.name().empty()) return Status::InvalidInput(origin_ + ": an initializer has no name");
      if (!initializers.insert(init.name()).second) {
        return Status::InvalidInput(origin_ + ": initializer '" + init.name() +
                                    "' is defined twice");
      }
      defined.insert(init.name());
      PQ_RETURN_IF_ERROR(Tensor(init, "initializer '" + init.name() + "'"));
    }
    for (const auto& sparse : graph.sparse_initializer()) {
      const std::string& name = sparse.values().name();
      if (!initializers.insert(name).second) {
        return Status::InvalidInput(origin_ + ": initializer '" + name + "' is defined twice");
      }
      defined.insert(name);
    }
    std::map<std::string, int> producer;
    for (int i = 0; i < graph.node_size(); ++i) {
      const onnx::NodeProto& node = graph.node(i);
      if (node.op_type().empty()) {
        return Status::InvalidInput(origin_ + ": node #" + std::to_string(i) + " has no op_type");
      }
      for (const std::string& out : node.output()) {
        if (out.empty()) continue;
        if (defined.count(out) != 0 || !producer.emplace(out, i).second) {
          return Status::InvalidInput(origin_ + ": " + NodeLabel(node, i) + " output '" + out +
                                      "' is already defined (names must be unique)");
        }
      }
      for (const std::string& out : node.output()) {
        if (!out.empty()) defined.insert(out);
      }
    }
    std::set<std::string> visible = outer;
    visible.insert(defined.begin(), defined.end());
    // Edges between nodes of this graph, for the cycle check.
    std::vector<std::vector<int>> consumers(static_cast<size_t>(graph.node_size()));
    std::vector<int> pending(static_cast<size_t>(graph.node_size()), 0);
    for (int i = 0; i < graph.node_size(); ++i) {
      const onnx::NodeProto& node = graph.node(i);
      for (const std::string& in : node.input()) {
        if (in.empty()) continue;
        if (visible.count(in) == 0) {
          return Status::InvalidInput(origin_ + ": " + NodeLabel(node, i) + " input '" + in +
                                      "' is not a graph input, initializer or node output");
        }
        auto p = producer.find(in);
        if (p != producer.end() && inputs.count(in) == 0) {
          consumers[static_cast<size_t>(p->second)].push_back(i);
          ++pending[static_cast<size_t>(i)];
        }
      }
      for (const auto& attr : node.attribute()) {
        const std::string label = NodeLabel(node, i) + " attribute '" + attr.name() + "'";
        if (attr.has_t()) PQ_RETURN_IF_ERROR(Tensor(attr.t(), label));
        for (const auto& t : attr.tensors()) PQ_RETURN_IF_ERROR(Tensor(t, label));
        if (attr.has_g()) PQ_RETURN_IF_ERROR(Graph(attr.g(), visible, depth + 1));
        for (const auto& g : attr.graphs()) PQ_RETURN_IF_ERROR(Graph(g, visible, depth + 1));
      }
    }
    // Kahn's algorithm: every node must become ready, or there is a cycle.
    std::vector<int> ready;
    for (int i = 0; i < graph.node_size(); ++i) {
      if (pending[static_cast<size_t>(i)] == 0) ready.push_back(i);
    }
    int visited = 0;
    while (!ready.empty()) {
      const int i = ready.back();
      ready.pop_back();
      ++visited;
      for (int c : consumers[static_cast<size_t>(i)]) {
        if (--pending[static_cast<size_t>(c)] == 0) ready.push_back(c);
      }
    }
    if (visited != graph.node_size()) {
      for (int i = 0; i < graph.node_size(); ++i) {
        if (pending[static_cast<size_t>(i)] != 0) {
          return Status::InvalidInput(origin_ + ": the graph has a cycle through " +
                                      NodeLabel(graph.node(i), i));
        }
      }
    }
    for (const auto& output : graph.output()) {
      if (output.name().empty()) return Status::InvalidInput(origin_ + ": a graph output has no name");
      if (visible.count(output.name()) == 0) {
        return Status::InvalidInput(origin_ + ": graph output '" + output.name() +
                                    "' is not produced by any node, input or initializer");
      }
    }
    return Status::OK();
  }

 private:
  std::string origin_;
  ExternalDataStore* store_;
};

}  // namespace

Status ValidateModel(const onnx::ModelProto& model, const std::string& origin,
                     ExternalDataStore* store, std::vector<std::string>* warnings) {
  if (!model.has_ir_version() || model.ir_version() <= 0 || !model.has_graph()) {
    return Status::InvalidInput(origin + ": not an ONNX model (no ir_version or no graph)");
  }
  const int64_t ir = model.ir_version();
  if (ir < kMinIrVersion) {
    return Status::NotSupported(origin + ": ir_version " + std::to_string(ir) +
                                " is older than pq supports (" + std::to_string(kMinIrVersion) +
                                "–" + std::to_string(kMaxIrVersion) + ")");
  }
  if (ir > kMaxIrVersion) {
    warnings->push_back("ir_version " + std::to_string(ir) + " is newer than pq knows (" +
                        std::to_string(kMaxIrVersion) + "); loading it as-is");
  }
  std::set<std::string> domains;
  int64_t default_version = 0;
  for (const auto& opset : model.opset_import()) {
    const std::string domain = IsDefaultDomain(opset.domain()) ? "" : opset.domain();
    if (!domains.insert(domain).second) {
      return Status::InvalidInput(origin + ": opset_import lists domain '" + opset.domain() +
                                  "' twice");
    }
    if (opset.version() <= 0) {
      return Status::InvalidInput(origin + ": opset_import of domain '" + opset.domain() +
                                  "' has version " + std::to_string(opset.version()));
    }
    if (domain.empty()) default_version = opset.version();
  }
  bool uses_default = false;
  for (const auto& node : model.graph().node()) uses_default |= IsDefaultDomain(node.domain());
  if (default_version == 0 && uses_default) {
    return Status::InvalidInput(origin + ": opset_import has no default-domain (ai.onnx) entry");
  }
  if (default_version != 0 && default_version < kMinOpset) {
    return Status::NotSupported(origin + ": default-domain opset " +
                                std::to_string(default_version) + " is older than pq supports (" +
                                std::to_string(kMinOpset) + "–" + std::to_string(kMaxOpset) + ")");
  }
  if (default_version > kMaxOpset) {
    warnings->push_back("default-domain opset " + std::to_string(default_version) +
                        " is newer than pq knows (" + std::to_string(kMaxOpset) +
                        "); loading it as-is");
  }
  Validator validator(origin, store);
  return validator.Graph(model.graph(), {}, 0);
}

}  // namespace pq
