#include "quant/plan.h"

#include <algorithm>
#include <tuple>

#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "pq/data_type.h"

namespace pq::quant {
namespace {

bool IsDefault(const onnx::NodeProto& n) { return IsDefaultDomain(n.domain()); }

// Ops a weight scheme can take (weight input 1).
const std::set<std::string>& WeightOps() {
  static const std::set<std::string> kOps = {"Conv", "ConvTranspose", "MatMul", "Gemm"};
  return kOps;
}

// Ops that only move or select data: their output shares their input's
// quantization parameters instead of being re-quantized.
const std::set<std::string>& PassThroughOps() {
  static const std::set<std::string> kOps = {"MaxPool", "Reshape", "Transpose", "Flatten",
                                             "Squeeze", "Unsqueeze", "Relu", "Identity"};
  return kOps;
}

bool Contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

int64_t AttrInt(const onnx::NodeProto& node, const char* name, int64_t def) {
  for (const auto& a : node.attribute()) {
    if (a.name() == name) return a.i();
  }
  return def;
}

// The per-channel axis of node's weight, or -1 when it has none.
int64_t ChannelAxis(const onnx::NodeProto& node, const ConstantTensor& w) {
  const std::string& op = node.op_type();
  if (op == "Conv") return w.dims.size() >= 3 ? 0 : -1;
  if (op == "ConvTranspose") return w.dims.size() >= 3 ? 1 : -1;
  if (op == "Gemm") return w.dims.size() == 2 ? (AttrInt(node, "transB", 0) != 0 ? 0 : 1) : -1;
  if (op == "MatMul") return w.dims.size() == 2 ? 1 : -1;
  return -1;
}

std::string NodeName(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? "#" + std::to_string(index) : node.name();
}

// Adds a skipped record for every float constant that a node of the main
// graph reads and that is neither planned nor already listed.
void ListOtherConstants(const Model& model, const std::vector<PlannedConstant>& planned,
                        std::vector<SkippedRecord>* skipped) {
  std::set<std::string> seen;
  for (const PlannedConstant& c : planned) seen.insert(c.tensor);
  for (const SkippedRecord& s : *skipped) seen.insert(s.tensor);
  const onnx::GraphProto& graph = model.proto().graph();
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    for (int k = 0; k < node.input_size(); ++k) {
      const std::string& input = node.input(k);
      if (input.empty() || seen.count(input) != 0) continue;
      const ConstantTensor* c = model.FindConstant(input);
      if (c == nullptr || c->data_type != onnx::TensorProto::FLOAT) continue;
      seen.insert(input);
      const bool bias = k == 2 && (node.op_type() == "Gemm" || node.op_type() == "Conv");
      std::string what = bias ? "bias" : std::to_string(c->dims.size()) + "-D float constant";
      skipped->push_back({NodeName(node, i), node.op_type(), input,
                          what + " (input " + std::to_string(k) + " of " + node.op_type() +
                              "); weights-only schemes quantize MatMul/Gemm weights only; left FP32"});
    }
  }
}

}  // namespace

QuantPlan BuildPlan(const Model& model, const QuantizeOptions& options, bool static_mode,
                    bool per_channel, const Scheme& scheme, const Scheme* fallback) {
  QuantPlan plan;
  const onnx::GraphProto& graph = model.proto().graph();
  const int n = graph.node_size();
  std::set<std::string> selected_ops(options.op_types.begin(), options.op_types.end());
  // (tensor, axis, scheme, transposed) -> index into plan.constants.
  std::map<std::tuple<std::string, int64_t, const Scheme*, bool>, size_t> constant_index;
  std::set<int> quantized;

  for (int i = 0; i < n; ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (!IsDefault(node) || WeightOps().count(node.op_type()) == 0) continue;
    const std::string name = NodeName(node, i);
    const std::string weight = node.input_size() > 1 ? node.input(1) : "";
    auto skip = [&](const std::string& reason) {
      plan.skipped.push_back({name, node.op_type(), weight, reason});
    };
    // A constant weight the user asked for that the schemes do not take.
    auto not_taken = [&](const std::string& reason) {
      skip(reason);
      plan.skipped.back().weight_not_taken = true;
    };
    if (selected_ops.count(node.op_type()) == 0) {
      skip("op type " + node.op_type() + " not selected (--op-types)");
      continue;
    }
    if (Contains(options.exclude_nodes, node.name())) {
      skip("excluded by --exclude-nodes");
      continue;
    }
    if (Contains(options.exclude_op_types, node.op_type())) {
      skip("excluded by --exclude-op-types");
      continue;
    }
    const ConstantTensor* w = model.FindConstant(weight);
    if (w == nullptr) {
      skip("weight input '" + weight + "' is not a constant (an activation-by-activation product)");
      continue;
    }
    if (w->data_type != onnx::TensorProto::FLOAT) {
      not_taken("weight is " + DataTypeName(w->data_type) + ", not float32 (pq quantizes float32 weights)");
      continue;
    }
    if (node.op_type() == "Gemm" && AttrInt(node, "transA", 0) != 0 && static_mode) {
      not_taken("Gemm with transA=1 has no per-tensor activation layout pq quantizes");
      continue;
    }
    const std::string& activation = node.input(0);
    if (static_mode && model.FindConstant(activation) != nullptr) {
      not_taken("input '" + activation + "' is a constant, not an activation");
      continue;
    }
    WeightSite site{node.op_type(), w->dims, AttrInt(node, "transA", 0) != 0};
    std::string reason;
    const Scheme* chosen = &scheme;
    if (!scheme.TakesWeight(site, &reason)) {
      std::string fallback_reason;
      if (fallback != nullptr && fallback->TakesWeight(site, &fallback_reason)) {
        chosen = fallback;
      } else {
        not_taken(fallback == nullptr ? reason : reason + "; fallback: " + fallback_reason);
        continue;
      }
    }
    const bool blockwise = IsBlockwiseEncoding(chosen->Encoding());
    const int64_t axis = per_channel && !blockwise ? ChannelAxis(node, *w) : -1;
    const bool transposed =
        blockwise && !(node.op_type() == "Gemm" && AttrInt(node, "transB", 0) != 0);
    auto key = std::make_tuple(weight, axis, chosen, transposed);
    auto it = constant_index.find(key);
    if (it == constant_index.end()) {
      PlannedConstant c;
      c.tensor = weight;
      c.role = TensorRole::kWeight;
      c.axis = axis;
      c.scheme = chosen;
      c.transposed = transposed;
      constant_index[key] = plan.constants.size();
      plan.constants.push_back(c);
      it = constant_index.find(key);
    }
    plan.constants[it->second].uses.push_back({i, 1});
    quantized.insert(i);
    plan.nodes.push_back(i);

    // Bias of a statically quantized Conv/Gemm: int32, scale = s_in * s_w.
    const bool has_bias = node.input_size() > 2 && !node.input(2).empty() &&
                          (node.op_type() == "Conv" || node.op_type() == "Gemm");
    if (static_mode && has_bias) {
      const ConstantTensor* b = model.FindConstant(node.input(2));
      // Conv: W is [M, C/group, ...]; Gemm: B is [K, N], or [N, K] with transB.
      const int64_t out_channels = node.op_type() == "Conv" || AttrInt(node, "transB", 0) != 0
                                       ? w->dims[0]
                                       : w->dims[1];
      if (b != nullptr && b->data_type == onnx::TensorProto::FLOAT && b->dims.size() == 1 &&
          b->dims[0] == out_channels) {
        PlannedConstant c;
        c.tensor = node.input(2);
        c.role = TensorRole::kBias;
        c.axis = axis >= 0 ? 0 : -1;
        c.uses.push_back({i, 2});
        c.activation = activation;
        c.weight = weight;
        c.weight_axis = axis;
        plan.constants.push_back(c);
      } else {
        plan.skipped.push_back({name, node.op_type(), node.input(2),
                                "bias is not a constant float vector of one value per output; "
                                "left float"});
      }
    }
  }
  if (!scheme.QuantizesActivations()) ListOtherConstants(model, plan.constants, &plan.skipped);
  if (!static_mode) return plan;

  // Activations: the data input of every quantized node, and backwards
  // through pass-through ops whose output is such an input.
  std::map<std::string, int> producer;
  for (int i = 0; i < n; ++i) {
    for (const auto& o : graph.node(i).output()) producer[o] = i;
  }
  std::map<std::string, std::vector<int>> consumers;
  for (int i = 0; i < n; ++i) {
    for (const auto& in : graph.node(i).input()) consumers[in].push_back(i);
  }
  std::set<std::string> graph_outputs;
  for (const auto& out : graph.output()) graph_outputs.insert(out.name());
  std::set<std::string> needed;
  std::set<std::string> conv_outputs;  // every reader takes the DQ output
  for (int i : plan.nodes) {
    const onnx::NodeProto& node = graph.node(i);
    needed.insert(node.input(0));
    // A quantized Conv's output is quantized too, whoever reads it: ONNX
    // Runtime fuses DQ -> Conv -> Q into QLinearConv only with that Q. A
    // single Relu reader carries it (Conv -> Relu -> Q fuses as well).
    if (node.op_type() != "Conv" && node.op_type() != "ConvTranspose") continue;
    std::string out = node.output(0);
    const std::vector<int>& readers = consumers[out];
    if (readers.size() == 1 && IsDefault(graph.node(readers[0])) &&
        graph.node(readers[0]).op_type() == "Relu" && graph_outputs.count(out) == 0) {
      out = graph.node(readers[0]).output(0);
    }
    if (graph_outputs.count(out) == 0) {
      needed.insert(out);
      conv_outputs.insert(out);
    }
  }
  auto is_pass_through = [&](const onnx::NodeProto& node) {
    return IsDefault(node) && PassThroughOps().count(node.op_type()) != 0 &&
           node.input_size() > 0 && node.output_size() > 0;
  };
  // Whether a tensor is a quantized node's output, directly or through
  // pass-through ops. Only then does quantizing before a pass-through op
  // keep data in int8 across it; otherwise the QDQ goes right before the
  // quantized reader (a float MaxPool is faster than a uint8 one).
  auto from_quantized = [&](std::string t) {
    for (;;) {
      auto p = producer.find(t);
      if (p == producer.end()) return false;
      if (quantized.count(p->second) != 0) return true;
      const onnx::NodeProto& node = graph.node(p->second);
      if (!is_pass_through(node)) return false;
      t = node.input(0);
    }
  };
  std::set<int> active_pass;
  for (int i = n - 1; i >= 0; --i) {
    const onnx::NodeProto& node = graph.node(i);
    if (!is_pass_through(node) || needed.count(node.output(0)) == 0) continue;
    if (model.FindConstant(node.input(0)) != nullptr || !from_quantized(node.input(0))) continue;
    active_pass.insert(i);
    needed.insert(node.input(0));
  }
  // Graph order is topological for valid ONNX; pass-through outputs share
  // their input's parameters, everything else is calibrated.
  std::map<std::string, std::string> shares;
  std::vector<std::string> order;
  std::set<std::string> graph_inputs;
  for (const auto& in : graph.input()) graph_inputs.insert(in.name());
  for (const std::string& t : needed) {
    if (producer.count(t) == 0) order.push_back(t);  // graph inputs first
  }
  std::map<std::string, int> use_count;
  for (const auto& node : graph.node()) {
    for (const auto& in : node.input()) ++use_count[in];
  }
  for (const auto& out : graph.output()) ++use_count[out.name()];
  for (int i = 0; i < n; ++i) {
    const onnx::NodeProto& node = graph.node(i);
    for (const auto& o : node.output()) {
      if (needed.count(o) == 0) continue;
      order.push_back(o);
      if (active_pass.count(i) == 0) continue;
      // A Relu calibrates its own output and its input (when the Relu is
      // its only reader) takes those parameters: the negative part the
      // narrower range clips is what the Relu removes anyway, and runtimes
      // can then drop the Relu between a quantized op and its Q.
      if (node.op_type() == "Relu" && use_count[node.input(0)] == 1 &&
          producer.count(node.input(0)) != 0 && shares.count(node.input(0)) == 0) {
        shares[node.input(0)] = o;
      } else {
        shares[o] = node.input(0);
      }
    }
  }
  for (const std::string& t : order) {
    PlannedActivation a;
    a.tensor = t;
    auto s = shares.find(t);
    if (s != shares.end()) {
      // Follow the chain to the tensor that owns the parameters.
      std::string root = s->second;
      while (shares.count(root) != 0) root = shares[root];
      a.shares_params_with = root;
    } else {
      plan.calibrate.insert(t);
    }
    const bool every_reader = conv_outputs.count(t) != 0;
    const std::vector<int>& readers = consumers[t];  // ascending, a node once per read
    for (size_t r = 0; r < readers.size(); ++r) {
      if (r > 0 && readers[r] == readers[r - 1]) continue;  // its inputs are scanned once
      const int i = readers[r];
      const onnx::NodeProto& node = graph.node(i);
      for (int k = 0; k < node.input_size(); ++k) {
        if (node.input(k) != t) continue;
        if (every_reader || (k == 0 && (quantized.count(i) != 0 || active_pass.count(i) != 0))) {
          a.uses.push_back({i, k});
        }
      }
    }
    plan.activations.push_back(std::move(a));
  }
  return plan;
}

}  // namespace pq::quant
