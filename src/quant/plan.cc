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

// A weight op of the main graph being planned, with the names its records use.
struct WeightNode {
  int index;
  const onnx::NodeProto& node;
  std::string name;    // NodeName(node, index)
  std::string weight;  // input 1, or "" when it has none
};

// The scheme chosen for a weight and what chose it (PlannedConstant's
// selected_by, selection_value and override_pattern).
struct SchemeChoice {
  const Scheme* scheme = nullptr;
  std::string selected_by, selection_value, pattern;
};

// Plans the weights (and biases) of the main graph's weight ops, in graph
// order, into one QuantPlan. REQUIRES: `model`, `options`, `scheme`,
// `fallback` and `set` outlive it; `fallback` and `set` may be null.
class WeightPlanner {
 public:
  WeightPlanner(const Model& model, const QuantizeOptions& options, bool static_mode, bool per_channel,
                const Scheme& scheme, const Scheme* fallback, const SchemeSet* set)
      : model_(model), options_(options), static_mode_(static_mode), per_channel_(per_channel),
        scheme_(scheme), fallback_(fallback), set_(set),
        selected_ops_(options.op_types.begin(), options.op_types.end()) {
    // Tables are planned on their own, with every reader (PlanTables).
    if (set_ != nullptr) {
      for (const EmbeddingTable& t : FindEmbeddingTables(model_)) tables_.insert(t.tensor);
    }
    lm_head_ = set_ != nullptr ? FindLmHead(model_) : -1;
  }

  // Plans node `i` of the main graph when it is a default-domain weight op:
  // either a skipped record (in the order of the checks below) or its
  // weight constant, its entry in plan().nodes and its bias.
  void PlanNode(int i) {
    const onnx::NodeProto& node = model_.proto().graph().node(i);
    if (!IsDefault(node) || WeightOps().count(node.op_type()) == 0) return;
    const WeightNode wn{i, node, NodeName(node, i), node.input_size() > 1 ? node.input(1) : ""};
    const ConstantTensor* w = TakenWeight(wn);
    if (w == nullptr) return;
    SchemeChoice choice;
    if (!ChooseScheme(wn, *w, &choice)) return;
    const int64_t axis = PlanWeight(wn, *w, choice);
    quantized_.insert(i);
    plan_.nodes.push_back(i);
    PlanBias(wn, *w, *choice.scheme, axis);
  }

  QuantPlan& plan() { return plan_; }
  int lm_head() const { return lm_head_; }
  // The nodes PlanNode quantized (not the table readers PlanTables adds).
  const std::set<int>& quantized() const { return quantized_; }

 private:
  void Skip(const WeightNode& wn, const std::string& reason) {
    plan_.skipped.push_back({wn.name, wn.node.op_type(), wn.weight, reason});
  }
  // A constant weight the user asked for that the schemes do not take.
  void NotTaken(const WeightNode& wn, const std::string& reason) {
    Skip(wn, reason);
    plan_.skipped.back().weight_not_taken = true;
  }

  // The weight constant of `wn` when the node is selected and its weight is
  // one pq quantizes; else null, after recording why (nothing for a node
  // whose weight is an embedding table, which PlanTables plans).
  const ConstantTensor* TakenWeight(const WeightNode& wn) {
    const onnx::NodeProto& node = wn.node;
    if (selected_ops_.count(node.op_type()) == 0) {
      Skip(wn, "op type " + node.op_type() + " not selected (--op-types)");
      return nullptr;
    }
    if (Contains(options_.exclude_nodes, node.name())) {
      Skip(wn, "excluded by --exclude-nodes");
      return nullptr;
    }
    if (Contains(options_.exclude_op_types, node.op_type())) {
      Skip(wn, "excluded by --exclude-op-types");
      return nullptr;
    }
    if (tables_.count(wn.weight) != 0) return nullptr;
    const ConstantTensor* w = model_.FindConstant(wn.weight);
    if (w == nullptr) {
      Skip(wn, "weight input '" + wn.weight + "' is not a constant (an activation-by-activation product)");
      return nullptr;
    }
    if (!IsQuantizableFloat(w->data_type)) {
      NotTaken(wn, "weight is " + DataTypeName(w->data_type) +
                       ", not float32, float16 or bfloat16 (pq quantizes floating-point weights of those types)");
      return nullptr;
    }
    if (node.op_type() == "Gemm" && AttrInt(node, "transA", 0) != 0 && static_mode_) {
      NotTaken(wn, "Gemm with transA=1 has no per-tensor activation layout pq quantizes");
      return nullptr;
    }
    const std::string& activation = node.input(0);
    if (static_mode_ && model_.FindConstant(activation) != nullptr) {
      NotTaken(wn, "input '" + activation + "' is a constant, not an activation");
      return nullptr;
    }
    return w;
  }

  // Sets `choice` by the rules in order: an override, the lm_head's
  // --lm-head, the main scheme, the fallback. Returns false, after recording
  // why, when the weight stays float.
  bool ChooseScheme(const WeightNode& wn, const ConstantTensor& w, SchemeChoice* choice) {
    WeightSite site{wn.node.op_type(), w.dims, AttrInt(wn.node, "transA", 0) != 0};
    std::string reason;
    choice->scheme = &scheme_;
    const SchemeSet::Override* o = MatchOverride(set_, {wn.weight, wn.node.name()});
    if (o != nullptr) {
      if (o->scheme == nullptr) {
        Skip(wn, "kept FP32 by [quantize.overrides] pattern '" + o->pattern + "'");
        return false;
      }
      choice->scheme = o->scheme.get();
      choice->selected_by = "override";
      choice->selection_value = o->value;
      choice->pattern = o->pattern;
      if (!choice->scheme->TakesWeight(site, &reason)) {
        NotTaken(wn, reason + " ([quantize.overrides] pattern '" + o->pattern + "' = " + o->value + ")");
        return false;
      }
    } else if (wn.index == lm_head_) {
      choice->selected_by = "lm_head";
      choice->selection_value = set_->lm_head_choice;
      if (set_->lm_head_choice == kKeepFp32) {
        Skip(wn, "lm_head kept FP32 (--lm-head keep)");
        return false;
      }
      if (set_->lm_head != nullptr) choice->scheme = set_->lm_head.get();
    }
    if (choice->scheme == &scheme_ && !scheme_.TakesWeight(site, &reason)) {
      std::string fallback_reason;
      if (fallback_ != nullptr && fallback_->TakesWeight(site, &fallback_reason)) {
        choice->scheme = fallback_;
      } else {
        NotTaken(wn, fallback_ == nullptr ? reason : reason + "; fallback: " + fallback_reason);
        return false;
      }
    }
    return true;
  }

  // Adds the use (node, input 1) to the planned constant for (weight, axis,
  // scheme, transposed), planning that constant first when it is new.
  // Returns the weight's per-channel axis (-1 per tensor or blockwise).
  int64_t PlanWeight(const WeightNode& wn, const ConstantTensor& w, const SchemeChoice& choice) {
    const bool blockwise = IsBlockwiseEncoding(choice.scheme->Encoding());
    const int64_t axis = per_channel_ && !blockwise ? ChannelAxis(wn.node, w) : -1;
    const bool transposed = blockwise && !(wn.node.op_type() == "Gemm" && AttrInt(wn.node, "transB", 0) != 0);
    auto key = std::make_tuple(wn.weight, axis, choice.scheme, transposed);
    auto it = constant_index_.find(key);
    if (it == constant_index_.end()) {
      PlannedConstant c;
      c.tensor = wn.weight;
      c.role = TensorRole::kWeight;
      c.axis = axis;
      c.scheme = choice.scheme;
      c.transposed = transposed;
      c.selected_by = choice.selected_by;
      c.selection_value = choice.selection_value;
      c.override_pattern = choice.pattern;
      constant_index_[key] = plan_.constants.size();
      plan_.constants.push_back(c);
      it = constant_index_.find(key);
    }
    plan_.constants[it->second].uses.push_back({wn.index, 1});
    return axis;
  }

  // Bias of a statically quantized Conv/Gemm whose weight `chosen` stores as
  // DequantizeLinear: planned as int32 (scale = s_in * s_w) when it is a
  // constant float vector of one value per output, else recorded as skipped.
  void PlanBias(const WeightNode& wn, const ConstantTensor& w, const Scheme& chosen, int64_t axis) {
    const onnx::NodeProto& node = wn.node;
    const bool has_bias = node.input_size() > 2 && !node.input(2).empty() &&
                          (node.op_type() == "Conv" || node.op_type() == "Gemm");
    if (!static_mode_ || !has_bias || chosen.Encoding() != WeightEncoding::kDequantizeLinear) return;
    const ConstantTensor* b = model_.FindConstant(node.input(2));
    // Conv: W is [M, C/group, ...]; Gemm: B is [K, N], or [N, K] with transB.
    const int64_t out_channels =
        node.op_type() == "Conv" || AttrInt(node, "transB", 0) != 0 ? w.dims[0] : w.dims[1];
    if (b != nullptr && IsQuantizableFloat(b->data_type) && b->dims.size() == 1 && b->dims[0] == out_channels) {
      PlannedConstant c;
      c.tensor = node.input(2);
      c.role = TensorRole::kBias;
      c.axis = axis >= 0 ? 0 : -1;
      c.uses.push_back({wn.index, 2});
      c.activation = node.input(0);
      c.weight = wn.weight;
      c.weight_axis = axis;
      plan_.constants.push_back(c);
    } else {
      plan_.skipped.push_back({wn.name, node.op_type(), node.input(2),
                               "bias is not a constant float vector of one value per output; "
                               "left float"});
    }
  }

  const Model& model_;
  const QuantizeOptions& options_;
  const bool static_mode_;
  const bool per_channel_;
  const Scheme& scheme_;
  const Scheme* const fallback_;
  const SchemeSet* const set_;
  const std::set<std::string> selected_ops_;
  std::set<std::string> tables_;
  int lm_head_ = -1;
  QuantPlan plan_;
  // (tensor, axis, scheme, transposed) -> index into plan_.constants.
  std::map<std::tuple<std::string, int64_t, const Scheme*, bool>, size_t> constant_index_;
  std::set<int> quantized_;
};

// Whether `node` only moves or selects data (PassThroughOps) and has an
// input and an output.
bool IsPassThrough(const onnx::NodeProto& node) {
  return IsDefault(node) && PassThroughOps().count(node.op_type()) != 0 && node.input_size() > 0 &&
         node.output_size() > 0;
}

// An activation's float type is its quantized reader's or writer's weight
// type (ONNX's T binds them): that of `node`'s weight, else float.
int32_t WeightFloatType(const Model& model, const onnx::NodeProto& node) {
  const ConstantTensor* w = model.FindConstant(node.input(1));
  return w != nullptr && IsQuantizableFloat(w->data_type) ? w->data_type : int32_t{kFloat};
}

// Plans the activations of a static plan: the data input of every quantized
// node, and backwards through pass-through ops whose output is such an
// input. REQUIRES: `model`, `plan` and `quantized` outlive it; `quantized`
// holds the nodes whose weights were planned (plan->nodes may hold more).
class ActivationPlanner {
 public:
  ActivationPlanner(const Model& model, QuantPlan* plan, const std::set<int>& quantized)
      : model_(model), graph_(model.proto().graph()), plan_(plan), quantized_(quantized) {
    const int n = graph_.node_size();
    for (int i = 0; i < n; ++i) {
      for (const auto& o : graph_.node(i).output()) producer_[o] = i;
    }
    for (int i = 0; i < n; ++i) {
      for (const auto& in : graph_.node(i).input()) consumers_[in].push_back(i);
    }
    for (const auto& out : graph_.output()) graph_outputs_.insert(out.name());
  }

  // Appends the activations to plan->activations (topological order) and
  // those calibrated themselves to plan->calibrate.
  void Plan() {
    SeedFromQuantizedNodes();
    ExtendThroughPassThrough();
    std::vector<std::string> order;
    std::map<std::string, std::string> shares;
    OrderAndShare(&order, &shares);
    for (const std::string& t : order) plan_->activations.push_back(Activation(t, &shares));
  }

 private:
  // Marks as needed the data input of every node of plan->nodes and the
  // output of every quantized Conv/ConvTranspose, with their float types.
  void SeedFromQuantizedNodes() {
    for (int i : plan_->nodes) {
      const onnx::NodeProto& node = graph_.node(i);
      needed_.insert(node.input(0));
      float_types_[node.input(0)] = WeightFloatType(model_, node);
      // A quantized Conv's output is quantized too, whoever reads it: ONNX
      // Runtime fuses DQ -> Conv -> Q into QLinearConv only with that Q. A
      // single Relu reader carries it (Conv -> Relu -> Q fuses as well).
      if (node.op_type() != "Conv" && node.op_type() != "ConvTranspose") continue;
      std::string out = node.output(0);
      const std::vector<int>& readers = consumers_[out];
      if (readers.size() == 1 && IsDefault(graph_.node(readers[0])) &&
          graph_.node(readers[0]).op_type() == "Relu" && graph_outputs_.count(out) == 0) {
        out = graph_.node(readers[0]).output(0);
      }
      if (graph_outputs_.count(out) == 0) {
        needed_.insert(out);
        conv_outputs_.insert(out);
        float_types_[out] = WeightFloatType(model_, node);
      }
    }
  }

  // Whether a tensor is a quantized node's output, directly or through
  // pass-through ops. Only then does quantizing before a pass-through op
  // keep data in int8 across it; otherwise the QDQ goes right before the
  // quantized reader (a float MaxPool is faster than a uint8 one).
  bool FromQuantized(std::string t) const {
    for (;;) {
      auto p = producer_.find(t);
      if (p == producer_.end()) return false;
      if (quantized_.count(p->second) != 0) return true;
      const onnx::NodeProto& node = graph_.node(p->second);
      if (!IsPassThrough(node)) return false;
      t = node.input(0);
    }
  }

  // Walks the graph backwards: a pass-through op whose output is needed and
  // whose input comes from a quantized node becomes active, its input needed.
  void ExtendThroughPassThrough() {
    for (int i = graph_.node_size() - 1; i >= 0; --i) {
      const onnx::NodeProto& node = graph_.node(i);
      if (!IsPassThrough(node) || needed_.count(node.output(0)) == 0) continue;
      if (model_.FindConstant(node.input(0)) != nullptr || !FromQuantized(node.input(0))) continue;
      active_pass_.insert(i);
      needed_.insert(node.input(0));
      auto type = float_types_.find(node.output(0));
      if (type != float_types_.end() && float_types_.count(node.input(0)) == 0) {
        float_types_[node.input(0)] = type->second;
      }
    }
  }

  // Lists the needed tensors in `order` (graph inputs first, then graph
  // order, topological for valid ONNX) and fills `shares`: a tensor that
  // takes another's parameters -> that tensor (pass-through outputs share
  // their input's; everything else is calibrated).
  void OrderAndShare(std::vector<std::string>* order, std::map<std::string, std::string>* shares) const {
    for (const std::string& t : needed_) {
      if (producer_.count(t) == 0) order->push_back(t);  // graph inputs first
    }
    std::map<std::string, int> use_count;
    for (const auto& node : graph_.node()) {
      for (const auto& in : node.input()) ++use_count[in];
    }
    for (const auto& out : graph_.output()) ++use_count[out.name()];
    for (int i = 0; i < graph_.node_size(); ++i) {
      const onnx::NodeProto& node = graph_.node(i);
      for (const auto& o : node.output()) {
        if (needed_.count(o) == 0) continue;
        order->push_back(o);
        if (active_pass_.count(i) == 0) continue;
        // A Relu calibrates its own output and its input (when the Relu is
        // its only reader) takes those parameters: the negative part the
        // narrower range clips is what the Relu removes anyway, and runtimes
        // can then drop the Relu between a quantized op and its Q.
        if (node.op_type() == "Relu" && use_count[node.input(0)] == 1 &&
            producer_.count(node.input(0)) != 0 && shares->count(node.input(0)) == 0) {
          (*shares)[node.input(0)] = o;
        } else {
          (*shares)[o] = node.input(0);
        }
      }
    }
  }

  // The planned activation `t`: its float type, the tensor whose parameters
  // it shares (else it joins plan->calibrate) and the reads that take it.
  PlannedActivation Activation(const std::string& t, std::map<std::string, std::string>* shares) {
    PlannedActivation a;
    a.tensor = t;
    auto type = float_types_.find(t);
    if (type != float_types_.end()) a.float_type = type->second;
    auto s = shares->find(t);
    if (s != shares->end()) {
      // Follow the chain to the tensor that owns the parameters.
      std::string root = s->second;
      while (shares->count(root) != 0) root = (*shares)[root];
      a.shares_params_with = root;
    } else {
      plan_->calibrate.insert(t);
    }
    const bool every_reader = conv_outputs_.count(t) != 0;
    const std::vector<int>& readers = consumers_[t];  // ascending, a node once per read
    for (size_t r = 0; r < readers.size(); ++r) {
      if (r > 0 && readers[r] == readers[r - 1]) continue;  // its inputs are scanned once
      const int i = readers[r];
      const onnx::NodeProto& node = graph_.node(i);
      for (int k = 0; k < node.input_size(); ++k) {
        if (node.input(k) != t) continue;
        if (every_reader || (k == 0 && (quantized_.count(i) != 0 || active_pass_.count(i) != 0))) {
          a.uses.push_back({i, k});
        }
      }
    }
    return a;
  }

  const Model& model_;
  const onnx::GraphProto& graph_;
  QuantPlan* const plan_;
  const std::set<int>& quantized_;
  std::map<std::string, int> producer_;
  std::map<std::string, std::vector<int>> consumers_;
  std::set<std::string> graph_outputs_;
  std::set<std::string> needed_;
  std::set<std::string> conv_outputs_;  // every reader takes the DQ output
  std::map<std::string, int32_t> float_types_;
  std::set<int> active_pass_;
};

QuantPlan BuildPlanWith(const Model& model, const QuantizeOptions& options, bool static_mode, bool per_channel,
                        const Scheme& scheme, const Scheme* fallback, const SchemeSet* set) {
  WeightPlanner weights(model, options, static_mode, per_channel, scheme, fallback, set);
  const onnx::GraphProto& graph = model.proto().graph();
  for (int i = 0; i < graph.node_size(); ++i) weights.PlanNode(i);
  QuantPlan& plan = weights.plan();
  if (set != nullptr) PlanTables(model, options, per_channel, *set, weights.lm_head(), &plan);
  if (!scheme.QuantizesActivations()) ListOtherConstants(model, plan.constants, &plan.skipped);
  if (static_mode) ActivationPlanner(model, &plan, weights.quantized()).Plan();
  return std::move(plan);
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
