#include "quant/equalize_stage.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "quant/calibrate_stage.h"
#include "quant/constant_edit.h"
#include "quant/equalize.h"
#include "quant/float_type.h"
#include "quant/matmul_replace.h"
#include "util/json_number.h"

namespace pq::quant {
namespace {

// Ops between the two Convs that a chain may pass through at most.
constexpr int kMaxBetween = 4;
// Sweeps over all pairs stop when every scale of a sweep is within this of 1,
// or after kMaxSweeps.
constexpr double kSettledScale = 1e-4;
constexpr int kMaxSweeps = 32;
// Calibration batches the exactness check runs both models on.
constexpr int64_t kCheckBatches = 2;

std::string NodeText(const onnx::GraphProto& graph, int i) {
  const onnx::NodeProto& node = graph.node(i);
  return node.op_type() + " '" + (node.name().empty() ? "#" + std::to_string(i) : node.name()) + "'";
}

// A Clip bound: the constant input `index` (opset >= 11) or attribute `attr`
// (older opsets); `fallback` when absent. False when it is not a constant.
bool ClipBound(const Model& model, const onnx::NodeProto& node, int index, const char* attr, float fallback,
               float* bound) {
  *bound = fallback;
  if (node.input_size() > index && !node.input(index).empty()) {
    const ConstantTensor* c = model.FindConstant(node.input(index));
    if (c == nullptr || !IsQuantizableFloat(c->data_type) || c->element_count != 1 || c->data == nullptr) return false;
    *bound = ReadFloats(*c)[0];
    return true;
  }
  *bound = AttrFloat(node, attr, fallback);
  return true;
}

// "" when `node` commutes with a positive per-channel scale (f(s x) =
// s f(x)); otherwise why not.
std::string NotHomogeneous(const Model& model, const onnx::NodeProto& node) {
  static const std::set<std::string> kHomogeneous = {"Relu",      "LeakyRelu",   "PRelu",
                                                     "Identity",  "MaxPool",     "AveragePool",
                                                     "GlobalAveragePool", "GlobalMaxPool"};
  const std::string& op = node.op_type();
  if (!IsDefaultDomain(node.domain())) return op + " (domain " + node.domain() + ") is not known to be positive-homogeneous";
  if (kHomogeneous.count(op) != 0) {
    if (op == "MaxPool" && node.output_size() > 1 && !node.output(1).empty()) return "its Indices output is read";
    return "";
  }
  if (op != "Clip") return op + " is not positive-homogeneous (f(s x) != s f(x))";
  float lo = 0, hi = 0;
  if (!ClipBound(model, node, 1, "min", -FLT_MAX, &lo) || !ClipBound(model, node, 2, "max", FLT_MAX, &hi)) {
    return "Clip with bounds that are not constants";
  }
  const bool lower_ok = lo == 0 || lo <= -FLT_MAX;
  const bool upper_ok = hi >= FLT_MAX;
  if (lower_ok && upper_ok) return "";
  return "Clip to [" + MessageNumber(lo) + ", " + MessageNumber(hi) +
         "] is not positive-homogeneous (a finite bound, as Relu6's, does not scale with s)";
}

// A candidate pair, with why it cannot be equalized ("" when it can).
struct Pair {
  int first = 0, second = 0;
  std::vector<int> between;
  std::string reason;
};

// The pair starting at Conv `first`, if its output reaches a Conv through a
// chain of single readers whose other inputs are constants.
bool FollowChain(const Model& model, const GraphReaders& readers, int first, Pair* pair) {
  const onnx::GraphProto& graph = model.proto().graph();
  pair->first = first;
  std::string tensor = graph.node(first).output(0);
  for (int step = 0; step <= kMaxBetween; ++step) {
    const std::set<int> next = readers.NodesReading(tensor);
    if (readers.ReadOutsideNodes(tensor) || next.size() != 1) return false;
    const int j = *next.begin();
    const onnx::NodeProto& node = graph.node(j);
    if (node.input_size() == 0 || node.input(0) != tensor || node.output_size() == 0) return false;
    if (node.op_type() == "Conv" && IsDefaultDomain(node.domain())) {
      pair->second = j;
      return true;
    }
    for (int k = 1; k < node.input_size(); ++k) {
      if (!node.input(k).empty() && model.FindConstant(node.input(k)) == nullptr) return false;
    }
    const std::string why = NotHomogeneous(model, node);
    if (pair->reason.empty() && !why.empty()) pair->reason = NodeText(graph, j) + ": " + why;
    pair->between.push_back(j);
    tensor = node.output(0);
  }
  return false;
}

// "" when `name` is a float32 constant of rank >= `min_rank` only `node`
// reads; otherwise why not.
std::string OwnFloatConstant(const Model& model, const GraphReaders& readers, const std::string& name, int node,
                             size_t min_rank, const std::string& what) {
  const ConstantTensor* c = model.FindConstant(name);
  if (c == nullptr || c->data_type != onnx::TensorProto::FLOAT || c->data == nullptr) {
    return what + " '" + name + "' is not a float32 constant";
  }
  if (c->dims.size() < min_rank) return what + " '" + name + "' has rank " + std::to_string(c->dims.size());
  if (!readers.OnlyBy(name, {node})) return what + " '" + name + "' is read by another node too";
  return "";
}

// Why the weights of `p` cannot be rescaled ("" when they can).
std::string WeightReason(const Model& model, const GraphReaders& readers, const Pair& p) {
  const onnx::GraphProto& graph = model.proto().graph();
  const onnx::NodeProto& a = graph.node(p.first);
  const onnx::NodeProto& b = graph.node(p.second);
  if (a.input_size() < 2 || b.input_size() < 2) return "a Conv without a weight input";
  std::string why = OwnFloatConstant(model, readers, a.input(1), p.first, 3, "the first weight");
  if (why.empty()) why = OwnFloatConstant(model, readers, b.input(1), p.second, 3, "the second weight");
  if (why.empty() && a.input_size() > 2 && !a.input(2).empty()) {
    why = OwnFloatConstant(model, readers, a.input(2), p.first, 1, "the first bias");
  }
  if (!why.empty()) return why;
  const int64_t m = model.FindConstant(a.input(1))->dims[0];
  const std::vector<int64_t>& w2 = model.FindConstant(b.input(1))->dims;
  const int64_t group = AttrInt(b, "group", 1);
  if (group < 1 || w2[1] * group != m || w2[0] % group != 0) {
    return "the second Conv's input channels (" + std::to_string(w2[1]) + " x group " + std::to_string(group) +
           ") do not match the first Conv's " + std::to_string(m) + " output channels";
  }
  return "";
}

// The weights and biases being rescaled, by tensor name.
struct Tensors {
  std::map<std::string, ConvWeight> weights;
  std::map<std::string, std::vector<float>> biases;
  ConvWeight& Weight(const Model& model, const std::string& name, int64_t group) {
    auto it = weights.find(name);
    if (it != weights.end()) return it->second;
    const ConstantTensor* c = model.FindConstant(name);
    return weights[name] = ConvWeight{c->dims, ReadFloats(*c), group};
  }
  std::vector<float>* Bias(const Model& model, const std::string& name) {
    if (name.empty()) return nullptr;
    auto it = biases.find(name);
    if (it != biases.end()) return &it->second;
    return &(biases[name] = ReadFloats(*model.FindConstant(name)));
  }
};

// Equalizes the pairs `valid` (indices into `pairs`) in `tensors`, sweeping
// until the scales settle; records each pair's accumulated scales and ranges.
void Sweep(const Model& model, const std::vector<Pair>& pairs, const std::vector<size_t>& valid, Tensors* tensors,
           std::vector<EqualizationRecord>* records) {
  const onnx::GraphProto& graph = model.proto().graph();
  std::map<size_t, std::vector<float>> total;
  auto weights_of = [&](size_t p, ConvWeight** w1, std::vector<float>** b1, ConvWeight** w2) {
    const onnx::NodeProto& a = graph.node(pairs[p].first);
    const onnx::NodeProto& b = graph.node(pairs[p].second);
    *w1 = &tensors->Weight(model, a.input(1), AttrInt(a, "group", 1));
    *b1 = tensors->Bias(model, a.input_size() > 2 ? a.input(2) : "");
    *w2 = &tensors->Weight(model, b.input(1), AttrInt(b, "group", 1));
  };
  for (size_t p : valid) {
    ConvWeight *w1, *w2;
    std::vector<float>* b1;
    weights_of(p, &w1, &b1, &w2);
    (*records)[p].first_range_ratio_before = ChannelRangeRatio(OutputChannelRanges(*w1));
    (*records)[p].second_range_ratio_before = ChannelRangeRatio(InputChannelRanges(*w2));
    total[p].assign(static_cast<size_t>(w1->dims[0]), 1.0f);
  }
  for (int sweep = 0; sweep < kMaxSweeps; ++sweep) {
    bool settled = true;
    for (size_t p : valid) {
      ConvWeight *w1, *w2;
      std::vector<float>* b1;
      weights_of(p, &w1, &b1, &w2);
      const std::vector<float> s = EqualizationScales(OutputChannelRanges(*w1), InputChannelRanges(*w2));
      DivideOutputChannels(s, w1, b1);
      MultiplyInputChannels(s, w2);
      for (size_t i = 0; i < s.size(); ++i) {
        total[p][i] *= s[i];
        settled = settled && std::fabs(s[i] - 1.0f) <= kSettledScale;
      }
    }
    if (settled) break;
  }
  for (size_t p : valid) {
    ConvWeight *w1, *w2;
    std::vector<float>* b1;
    weights_of(p, &w1, &b1, &w2);
    EqualizationRecord& r = (*records)[p];
    const auto [lo, hi] = std::minmax_element(total[p].begin(), total[p].end());
    r.channels = static_cast<int64_t>(total[p].size());
    r.scale_min = lo == total[p].end() ? 1.0 : *lo;
    r.scale_max = hi == total[p].end() ? 1.0 : *hi;
    r.first_range_ratio_after = ChannelRangeRatio(OutputChannelRanges(*w1));
    r.second_range_ratio_after = ChannelRangeRatio(InputChannelRanges(*w2));
  }
}

// The model with the rescaled tensors written in.
Result<std::unique_ptr<Model>> Rewritten(const Model& model, const Tensors& tensors) {
  auto proto = std::make_unique<onnx::ModelProto>(model.proto());
  onnx::GraphProto* graph = proto->mutable_graph();
  for (const auto& [name, w] : tensors.weights) SetConstant(graph, name, onnx::TensorProto::FLOAT, w.dims, w.values);
  for (const auto& [name, b] : tensors.biases) {
    SetConstant(graph, name, onnx::TensorProto::FLOAT, model.FindConstant(name)->dims, b);
  }
  return Model::FromProto(std::move(proto), model.base_dir(), model.origin());
}

EqualizationRecord RecordOf(const onnx::GraphProto& graph, const Pair& p) {
  EqualizationRecord r;
  r.first_node = NodeText(graph, p.first);
  r.second_node = NodeText(graph, p.second);
  r.first_weight = graph.node(p.first).input_size() > 1 ? graph.node(p.first).input(1) : "";
  r.second_weight = graph.node(p.second).input_size() > 1 ? graph.node(p.second).input(1) : "";
  for (int j : p.between) r.between.push_back(NodeText(graph, j));
  r.not_applied = p.reason;
  return r;
}

std::string PairText(const EqualizationRecord& r) {
  std::string text = r.first_node;
  for (const std::string& b : r.between) text += " -> " + b;
  return text + " -> " + r.second_node;
}

// Marks every pair of `valid` as not applied because of `why`.
void Refuse(const std::vector<size_t>& valid, const std::string& why, std::vector<EqualizationRecord>* records) {
  for (size_t p : valid) {
    EqualizationRecord& r = (*records)[p];
    r.not_applied = why;
    r.first_range_ratio_after = r.first_range_ratio_before;
    r.second_range_ratio_after = r.second_range_ratio_before;
    r.scale_min = r.scale_max = 1;
  }
}

}  // namespace

Result<EqualizeOutcome> EqualizeConvPairs(const Model& prepared, const QuantizeOptions& options, double tolerance) {
  const onnx::GraphProto& graph = prepared.proto().graph();
  const GraphReaders readers(graph);
  EqualizeOutcome out;
  std::vector<Pair> pairs;
  std::vector<size_t> valid;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (node.op_type() != "Conv" || !IsDefaultDomain(node.domain()) || node.output_size() == 0) continue;
    Pair p;
    if (!FollowChain(prepared, readers, i, &p)) continue;
    if (p.reason.empty()) p.reason = WeightReason(prepared, readers, p);
    if (p.reason.empty()) valid.push_back(pairs.size());
    pairs.push_back(std::move(p));
    out.records.push_back(RecordOf(graph, pairs.back()));
  }
  if (valid.empty()) return out;
  Tensors tensors;
  Sweep(prepared, pairs, valid, &tensors, &out.records);
  Result<std::unique_ptr<Model>> equalized = Rewritten(prepared, tensors);
  if (!equalized.ok()) return equalized.status();
  Result<std::vector<Feeds>> feeds = FirstCalibrationBatches(prepared, options, kCheckBatches);
  if (!feeds.ok()) return feeds.status();
  const Status same = CheckSameOutputs(prepared, *equalized.value(), options.threads, tolerance, feeds.value());
  if (!same.ok()) {
    const std::string why = same.code() == Status::Code::kNotSupported
                                ? "the equalized model could not be verified by running it (" + same.message() + ")"
                                : "equalizing changed the FP32 outputs beyond " + MessageNumber(tolerance) +
                                      " relative L2 (" + same.message() + ")";
    Refuse(valid, why, &out.records);
    out.warnings.push_back("--equalize: no Conv pair equalized: " + why);
    return out;
  }
  for (size_t p : valid) {
    EqualizationRecord& r = out.records[p];
    r.applied = true;
    out.transformations.push_back("equalized " + PairText(r) + " (cross-layer equalization): " +
                                  std::to_string(r.channels) + " channels, s in [" + MessageNumber(r.scale_min) +
                                  ", " + MessageNumber(r.scale_max) + "]; outputs verified equal");
  }
  out.model = std::move(equalized).value();
  return out;
}

}  // namespace pq::quant
