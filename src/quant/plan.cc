#include "quant/plan.h"

#include <fnmatch.h>

#include <algorithm>
#include <tuple>

#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "pq/data_type.h"
#include "quant/embedding_tables.h"
#include "quant/float_type.h"

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

// How a constant left unquantized is described: "FP32", or its type's name.
std::string KeptType(int32_t dtype) { return dtype == kFloat ? "FP32" : DataTypeName(dtype); }

std::string NodeName(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? "#" + std::to_string(index) : node.name();
}

// Lists every node of a selected weight op inside an If, Loop or Scan body
// of `graph` (at any depth; `owner` is "" for the main graph, else the body
// that holds `graph`): pq plans main-graph nodes only, so their weights stay
// float. A node whose weight is a constant (of the main graph or of its
// body) counts as a weight not taken, which `pq quantize` reports.
void SkipBodyNodes(const Model& model, const onnx::GraphProto& graph, const std::string& owner,
                   const std::set<std::string>& selected_ops, std::vector<SkippedRecord>* skipped) {
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    const std::string name = node.name().empty() ? owner + "#" + std::to_string(i) : node.name();
    if (!owner.empty() && IsDefault(node) && WeightOps().count(node.op_type()) != 0 &&
        selected_ops.count(node.op_type()) != 0) {
      const std::string weight = node.input_size() > 1 ? node.input(1) : "";
      const bool constant = model.FindConstant(weight) != nullptr || initializers.count(weight) != 0;
      skipped->push_back({name, node.op_type(), weight,
                          "inside the '" + owner.substr(0, owner.size() - 1) +
                              "' body: pq quantizes main-graph nodes only, left float",
                          constant});
    }
    for (const auto& attr : node.attribute()) {
      if (!attr.has_g()) continue;
      const std::string label = node.name().empty() ? node.op_type() + " #" + std::to_string(i) : node.name();
      SkipBodyNodes(model, attr.g(), label + "/" + attr.name() + "/", selected_ops, skipped);
    }
  }
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
      if (c == nullptr || !IsQuantizableFloat(c->data_type)) continue;
      seen.insert(input);
      const bool bias = k == 2 && (node.op_type() == "Gemm" || node.op_type() == "Conv");
      std::string what = bias ? "bias" : std::to_string(c->dims.size()) + "-D float constant";
      skipped->push_back({NodeName(node, i), node.op_type(), input,
                          what + " (input " + std::to_string(k) + " of " + node.op_type() +
                              "); weights-only schemes quantize MatMul/Gemm weights only; left " +
                              KeptType(c->data_type)});
    }
  }
}

// The first override whose pattern matches one of `names`, or null.
const SchemeSet::Override* MatchOverride(const SchemeSet* set, const std::vector<std::string>& names) {
  if (set == nullptr) return nullptr;
  for (const SchemeSet::Override& o : set->overrides) {
    for (const std::string& name : names) {
      if (!name.empty() && fnmatch(o.pattern.c_str(), name.c_str(), 0) == 0) return &o;
    }
  }
  return nullptr;
}

// Precision order of the table choices: keep, then int8, then 4-bit.
int Precision(const std::string& choice) { return choice == kKeepFp32 ? 0 : choice == "int8" ? 1 : 2; }

// Plans the embedding tables of `model` as `set` says (after the weights of
// MatMul/Gemm nodes, which leave tables alone).
void PlanTables(const Model& model, const QuantizeOptions& options, bool per_channel, const SchemeSet& set,
                int lm_head, QuantPlan* plan) {
  const onnx::GraphProto& graph = model.proto().graph();
  for (const EmbeddingTable& t : FindEmbeddingTables(model)) {
    std::vector<Use> uses = t.gathers;
    uses.insert(uses.end(), t.other_reads.begin(), t.other_reads.end());
    std::sort(uses.begin(), uses.end());
    std::vector<std::string> names = {t.tensor};
    bool excluded = false;
    const bool lm_reads = lm_head >= 0 && ReadsAsWeight(model, lm_head, t.tensor);
    for (const Use& use : uses) {
      const onnx::NodeProto& node = graph.node(use.first);
      names.push_back(node.name());
      excluded = excluded || Contains(options.exclude_nodes, node.name()) ||
                 Contains(options.exclude_op_types, node.op_type());
    }
    const onnx::NodeProto& first = graph.node(t.gathers.front().first);
    auto skip = [&](const std::string& reason) {
      plan->skipped.push_back({NodeName(first, t.gathers.front().first), first.op_type(), t.tensor, reason});
    };
    if (excluded) {
      skip("embedding table read by a node excluded by --exclude-nodes/--exclude-op-types; left FP32");
      continue;
    }
    PlannedConstant c;
    c.tensor = t.tensor;
    c.role = TensorRole::kWeight;
    c.uses = uses;
    c.table = true;
    std::string choice = set.embedding_choice;
    c.selected_by = "embeddings";
    if (const SchemeSet::Override* o = MatchOverride(&set, names)) {
      c.selected_by = "override";
      c.override_pattern = o->pattern;
      c.selection_value = o->value;
      if (o->scheme == nullptr) {
        skip("embedding table kept FP32 by [quantize.overrides] pattern '" + o->pattern + "'");
        continue;
      }
      if (o->scheme->Encoding() != WeightEncoding::kDequantizeLinear) {
        skip("[quantize.overrides] pattern '" + o->pattern + "' = " + o->value + ": an embedding table takes keep "
             "or an int8 scheme (--embeddings 4bit for 4 bits); left FP32");
        continue;
      }
      c.scheme = o->scheme.get();
    } else {
      if (t.tied() && lm_reads) {
        // One tensor, two roles: the more precise choice serves both.
        const std::string lm = set.lm_head_choice != "same" ? set.lm_head_choice
                                                            : IsBlockwise(*set.main) ? "4bit" : "int8";
        c.selected_by = "tied";
        c.selection_note = "read by Gather and by the lm_head: --embeddings " + set.embedding_choice +
                           ", --lm-head " + set.lm_head_choice + "; the more precise applies, stored once";
        if (Precision(lm) < Precision(choice)) choice = lm;
      }
      c.selection_value = choice;
      if (choice == kKeepFp32) {
        skip(c.selected_by == "tied" ? "embedding table tied to the lm_head kept FP32 (" + c.selection_note + ")"
                                     : "embedding table kept FP32 (--embeddings keep)");
        continue;
      }
      c.scheme = choice == "int8" ? (set.embedding != nullptr && !IsBlockwise(*set.embedding) ? set.embedding.get()
                                                                                              : set.lm_head.get())
                                  : set.embedding.get();
      if (c.scheme == nullptr) c.scheme = set.main.get();  // int8: --lm-head same with an int8 scheme
    }
    if (!IsBlockwise(*c.scheme) && c.scheme->Encoding() != WeightEncoding::kDequantizeLinear) {
      skip(std::string("scheme ") + c.scheme->Name() + " cannot store an embedding table; left FP32");
      continue;
    }
    if (IsBlockwise(*c.scheme)) {
      c.encoding = set.EmbeddingEncoding(t.tied(), t.cols);
    } else {
      c.axis = per_channel ? 0 : -1;  // one scale per row
    }
    // A MatMul/Gemm reading the table itself is quantized with it.
    for (const Use& use : t.other_reads) {
      const onnx::NodeProto& node = graph.node(use.first);
      if (use.second == 1 && (node.op_type() == "MatMul" || node.op_type() == "Gemm")) plan->nodes.push_back(use.first);
    }
    plan->table_gathers += static_cast<int64_t>(t.gathers.size());
    plan->constants.push_back(std::move(c));
  }
}

QuantPlan BuildPlanWith(const Model& model, const QuantizeOptions& options, bool static_mode, bool per_channel,
                        const Scheme& scheme, const Scheme* fallback, const SchemeSet* set) {
  QuantPlan plan;
  const onnx::GraphProto& graph = model.proto().graph();
  const int n = graph.node_size();
  // Tables are planned on their own, with every reader (PlanTables).
  std::set<std::string> tables;
  if (set != nullptr) {
    for (const EmbeddingTable& t : FindEmbeddingTables(model)) tables.insert(t.tensor);
  }
  const int lm_head = set != nullptr ? FindLmHead(model) : -1;
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
    if (tables.count(weight) != 0) continue;
    const ConstantTensor* w = model.FindConstant(weight);
    if (w == nullptr) {
      skip("weight input '" + weight + "' is not a constant (an activation-by-activation product)");
      continue;
    }
    if (!IsQuantizableFloat(w->data_type)) {
      not_taken("weight is " + DataTypeName(w->data_type) +
                ", not float32, float16 or bfloat16 (pq quantizes floating-point weights of those types)");
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
    std::string selected_by, selection_value, pattern;
    const SchemeSet::Override* o = MatchOverride(set, {weight, node.name()});
    if (o != nullptr) {
      if (o->scheme == nullptr) {
        skip("kept FP32 by [quantize.overrides] pattern '" + o->pattern + "'");
        continue;
      }
      chosen = o->scheme.get();
      selected_by = "override";
      selection_value = o->value;
      pattern = o->pattern;
      if (!chosen->TakesWeight(site, &reason)) {
        not_taken(reason + " ([quantize.overrides] pattern '" + o->pattern + "' = " + o->value + ")");
        continue;
      }
    } else if (i == lm_head) {
      selected_by = "lm_head";
      selection_value = set->lm_head_choice;
      if (set->lm_head_choice == kKeepFp32) {
        skip("lm_head kept FP32 (--lm-head keep)");
        continue;
      }
      if (set->lm_head != nullptr) chosen = set->lm_head.get();
    }
    if (chosen == &scheme && !scheme.TakesWeight(site, &reason)) {
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
      c.selected_by = selected_by;
      c.selection_value = selection_value;
      c.override_pattern = pattern;
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
    if (static_mode && has_bias && chosen->Encoding() == WeightEncoding::kDequantizeLinear) {
      const ConstantTensor* b = model.FindConstant(node.input(2));
      // Conv: W is [M, C/group, ...]; Gemm: B is [K, N], or [N, K] with transB.
      const int64_t out_channels = node.op_type() == "Conv" || AttrInt(node, "transB", 0) != 0
                                       ? w->dims[0]
                                       : w->dims[1];
      if (b != nullptr && IsQuantizableFloat(b->data_type) && b->dims.size() == 1 &&
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
  SkipBodyNodes(model, graph, "", selected_ops, &plan.skipped);
  if (set != nullptr) PlanTables(model, options, per_channel, *set, lm_head, &plan);
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
  // An activation's float type is its quantized reader's or writer's
  // weight type (ONNX's T binds them), carried back through pass-through ops.
  std::map<std::string, int32_t> float_types;
  auto weight_type = [&](const onnx::NodeProto& node) {
    const ConstantTensor* w = model.FindConstant(node.input(1));
    return w != nullptr && IsQuantizableFloat(w->data_type) ? w->data_type : int32_t{kFloat};
  };
  for (int i : plan.nodes) {
    const onnx::NodeProto& node = graph.node(i);
    needed.insert(node.input(0));
    float_types[node.input(0)] = weight_type(node);
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
      float_types[out] = weight_type(node);
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
    auto type = float_types.find(node.output(0));
    if (type != float_types.end() && float_types.count(node.input(0)) == 0) float_types[node.input(0)] = type->second;
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
    auto type = float_types.find(t);
    if (type != float_types.end()) a.float_type = type->second;
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

}  // namespace

QuantPlan BuildPlan(const Model& model, const QuantizeOptions& options, bool static_mode,
                    bool per_channel, const Scheme& scheme, const Scheme* fallback) {
  return BuildPlanWith(model, options, static_mode, per_channel, scheme, fallback, nullptr);
}

QuantPlan BuildPlan(const Model& model, const QuantizeOptions& options, bool static_mode,
                    bool per_channel, const SchemeSet& schemes) {
  return BuildPlanWith(model, options, static_mode, per_channel, *schemes.main, schemes.fallback.get(), &schemes);
}

}  // namespace pq::quant
