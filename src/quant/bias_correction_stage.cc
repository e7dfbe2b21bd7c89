#include "quant/bias_correction_stage.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "quant/bias_correction.h"
#include "quant/calibrate_stage.h"
#include "quant/constant_edit.h"
#include "quant/float_type.h"
#include "quant/input_mean_collector.h"
#include "quant/matmul_replace.h"
#include "quant/name_allocator.h"
#include "quant/proto_build.h"

namespace pq::quant {
namespace {

// Returned by ResolveLayer for weights of other ops: they get no record.
const char kNotALayer[] = "-";

std::string NodeText(const onnx::GraphProto& graph, int i) {
  const onnx::NodeProto& node = graph.node(i);
  return node.op_type() + " '" + (node.name().empty() ? "#" + std::to_string(i) : node.name()) + "'";
}

std::vector<int64_t> AttrInts(const onnx::NodeProto& node, const char* name, std::vector<int64_t> def) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return std::vector<int64_t>(a.ints().begin(), a.ints().end());
  }
  return def;
}

std::string AttrText(const onnx::NodeProto& node, const char* name, const std::string& def) {
  for (const onnx::AttributeProto& a : node.attribute()) {
    if (a.name() == name) return a.s();
  }
  return def;
}

// The single main-graph node that reads planned weight `c` at input 1, or -1.
int SoleReader(const PlannedConstant& c) {
  if (c.role != TensorRole::kWeight || c.scheme == nullptr || c.table || c.uses.size() != 1) return -1;
  return c.uses.front().second == 1 ? c.uses.front().first : -1;
}

// One layer to correct.
struct Layer {
  std::string weight;
  std::string bias;
  int bias_reader = 0;      // the node that reads the bias (the Add after a MatMul)
  int64_t outputs = 0;      // N (or M): the bias's elements
  int64_t features = 0;     // K, for MatMul/Gemm
  bool k_first = true;      // the weight is [K, N]
  double output_factor = 1;  // alpha / beta for Gemm
  int64_t group = 1;
  MeanTap tap;
  const ConstantRewrite* rewrite = nullptr;
};

// "" when `layer.bias` is a float32 constant of `layer.outputs` elements on
// its last axis, read only by `layer.bias_reader`; otherwise why not.
std::string BiasReason(const Model& model, const GraphReaders& readers, const Layer& layer) {
  const ConstantTensor* b = model.FindConstant(layer.bias);
  if (b == nullptr || b->data_type != onnx::TensorProto::FLOAT || b->data == nullptr) {
    return "its bias '" + layer.bias + "' is not a float32 constant";
  }
  if (b->element_count != layer.outputs || b->dims.empty() || b->dims.back() != layer.outputs) {
    return "its bias '" + layer.bias + "' does not hold one value per output channel (" +
           std::to_string(layer.outputs) + ")";
  }
  if (!readers.OnlyBy(layer.bias, {layer.bias_reader})) return "its bias '" + layer.bias + "' is read by another node too";
  return "";
}

std::string ResolveConv(const onnx::NodeProto& node, const ConstantTensor& w, Layer* layer) {
  if (w.dims.size() != 4) return "bias correction handles 2-D Convs (4-D weights)";
  if (node.input_size() < 3 || node.input(2).empty()) return "the Conv has no bias";
  layer->bias = node.input(2);
  layer->outputs = w.dims[0];
  layer->group = AttrInt(node, "group", 1);
  ConvGeometry g;
  g.channels = w.dims[1] * layer->group;
  g.kernel = {w.dims[2], w.dims[3]};
  g.strides = AttrInts(node, "strides", {1, 1});
  g.dilations = AttrInts(node, "dilations", {1, 1});
  g.pads = AttrInts(node, "pads", {0, 0, 0, 0});
  g.auto_pad = AttrText(node, "auto_pad", "NOTSET");
  if (g.strides.size() != 2 || g.dilations.size() != 2 || g.pads.size() != 4 || layer->group < 1) {
    return "the Conv's strides, dilations, pads or group are malformed";
  }
  layer->tap.conv = g;
  return "";
}

std::string ResolveGemm(const onnx::NodeProto& node, const ConstantTensor& w, Layer* layer) {
  if (AttrInt(node, "transA", 0) != 0) return "Gemm with transA = 1";
  const float beta = AttrFloat(node, "beta", 1.0f);
  if (beta == 0) return "Gemm with beta = 0 (C does not reach the output)";
  if (node.input_size() < 3 || node.input(2).empty()) return "the Gemm has no C";
  layer->k_first = AttrInt(node, "transB", 0) == 0;
  layer->features = w.dims[layer->k_first ? 0 : 1];
  layer->outputs = w.dims[layer->k_first ? 1 : 0];
  layer->output_factor = static_cast<double>(AttrFloat(node, "alpha", 1.0f)) / beta;
  layer->bias = node.input(2);
  return "";
}

// A MatMul's bias: the constant of the one Add that reads its output.
std::string ResolveMatMul(const Model& model, const GraphReaders& readers, const onnx::NodeProto& node,
                          const ConstantTensor& w, Layer* layer) {
  layer->features = w.dims[0];
  layer->outputs = w.dims[1];
  const onnx::GraphProto& graph = model.proto().graph();
  const std::set<int> next = readers.NodesReading(node.output(0));
  const std::string none = "the MatMul has no bias to correct (its output is not read by one Add of a constant)";
  if (next.size() != 1 || readers.ReadOutsideNodes(node.output(0))) return none;
  const onnx::NodeProto& add = graph.node(*next.begin());
  if (add.op_type() != "Add" || !IsDefaultDomain(add.domain()) || add.input_size() != 2) return none;
  layer->bias = add.input(0) == node.output(0) ? add.input(1) : add.input(0);
  if (model.FindConstant(layer->bias) == nullptr) return none;
  layer->bias_reader = *next.begin();
  return "";
}

// Fills `layer` for planned weight `c`; returns why it cannot be corrected,
// "" when it can, or kNotALayer for weights of other ops.
std::string ResolveLayer(const Model& model, const GraphReaders& readers, const PlannedConstant& c, Layer* layer) {
  const onnx::GraphProto& graph = model.proto().graph();
  if (c.role != TensorRole::kWeight || c.scheme == nullptr || c.table || c.uses.empty()) return kNotALayer;
  const onnx::NodeProto& first = graph.node(c.uses.front().first);
  const std::string& op = first.op_type();
  if ((op != "Conv" && op != "Gemm" && op != "MatMul") || !IsDefaultDomain(first.domain())) return kNotALayer;
  const int reader = SoleReader(c);
  if (reader < 0) return "the weight is read by " + std::to_string(c.uses.size()) + " inputs, not as one node's weight";
  const ConstantTensor* w = model.FindConstant(c.tensor);
  if (w == nullptr || w->data_type != onnx::TensorProto::FLOAT || w->data == nullptr) {
    return "bias correction handles float32 weights";
  }
  if (op != "Conv" && w->dims.size() != 2) return "bias correction handles 2-D MatMul/Gemm weights";
  layer->weight = c.tensor;
  layer->bias_reader = reader;
  layer->tap.tensor = first.input(0);
  std::string why = op == "Conv"   ? ResolveConv(first, *w, layer)
                    : op == "Gemm" ? ResolveGemm(first, *w, layer)
                                   : ResolveMatMul(model, readers, first, *w, layer);
  if (why.empty()) why = BiasReason(model, readers, *layer);
  layer->tap.features = layer->features;
  return why;
}

// The mean of every layer's input over the calibration data.
Result<std::vector<std::vector<double>>> MeasureMeans(const Model& model, const std::vector<Layer>& layers,
                                                      const QuantizeOptions& options,
                                                      const std::function<void(int64_t, int64_t)>& progress) {
  std::vector<MeanTap> taps;
  for (const Layer& l : layers) taps.push_back(l.tap);
  Result<CalibrationRun> run = OpenCalibrationRun(model, options);
  if (!run.ok()) return run.status();
  InputMeanCollector collector(std::move(taps));
  Result<CalibrationPass> pass = ObserveCalibrationRun(
      run.value(), options, &collector,
      [&collector]() -> Status { return collector.AllSeen() ? Status::OK() : collector.Means().status(); }, progress);
  if (!pass.ok()) return pass.status();
  return collector.Means();
}

// Corrects `layer`'s bias in `graph` with its input's `mean`; fills `r`.
Status CorrectLayer(const Model& model, const Layer& layer, const std::vector<double>& mean,
                    onnx::GraphProto* graph, BiasCorrectionRecord* r) {
  Result<std::vector<float>> wq = DequantizedWeight(*layer.rewrite);
  if (!wq.ok()) return wq.status();
  const ConstantTensor& w = *model.FindConstant(layer.weight);
  std::vector<float> dw = ReadFloats(w);
  for (size_t i = 0; i < dw.size(); ++i) dw[i] = wq.value()[i] - dw[i];
  const std::vector<double> shift = layer.tap.conv ? ConvOutputShift(dw, w.dims, layer.group, mean)
                                                   : LinearOutputShift(dw, layer.features, layer.k_first, mean);
  const ConstantTensor& b = *model.FindConstant(layer.bias);
  std::vector<float> bias = ReadFloats(b);
  double bias_max = 0, sum = 0;
  for (size_t i = 0; i < bias.size(); ++i) {
    const double change = layer.output_factor * shift[i];
    bias_max = std::max(bias_max, std::fabs(static_cast<double>(bias[i])));
    bias[i] = static_cast<float>(bias[i] - change);
    r->max_abs = std::max(r->max_abs, std::fabs(change));
    sum += std::fabs(change);
  }
  r->channels = static_cast<int64_t>(bias.size());
  r->mean_abs = bias.empty() ? 0 : sum / static_cast<double>(bias.size());
  r->max_relative = bias_max > 0 ? r->max_abs / bias_max : 0;
  SetConstant(graph, layer.bias, onnx::TensorProto::FLOAT, b.dims, bias);
  return Status::OK();
}

}  // namespace

Result<AddedBiases> AddMissingBiases(const Model& model, const QuantPlan& plan) {
  AddedBiases out;
  auto proto = std::make_unique<onnx::ModelProto>(model.proto());
  onnx::GraphProto* graph = proto->mutable_graph();
  NameAllocator names(*graph);
  for (const PlannedConstant& c : plan.constants) {
    const int reader = SoleReader(c);
    const ConstantTensor* w = model.FindConstant(c.tensor);
    if (reader < 0 || w == nullptr || w->data_type != onnx::TensorProto::FLOAT || w->dims.empty()) continue;
    // Only weights written as DequantizeLinear can be corrected (Dequantizable).
    if (c.encoding.value_or(c.scheme->Encoding()) != WeightEncoding::kDequantizeLinear) continue;
    onnx::NodeProto* node = graph->mutable_node(reader);
    const bool conv = node->op_type() == "Conv" && w->dims.size() == 4;
    const bool gemm = node->op_type() == "Gemm" && w->dims.size() == 2 && AttrInt(*node, "transA", 0) == 0;
    if ((!conv && !gemm) || !IsDefaultDomain(node->domain()) || (node->input_size() > 2 && !node->input(2).empty())) {
      continue;
    }
    const int64_t outputs = conv || AttrInt(*node, "transB", 0) != 0 ? w->dims[0] : w->dims[1];
    const std::string name = names.Make((node->name().empty() ? c.tensor : node->name()) + "_bias");
    *graph->add_initializer() = Initializer(name, onnx::TensorProto::FLOAT, {outputs},
                                            RawBytes(std::vector<float>(static_cast<size_t>(outputs), 0.0f)));
    if (node->input_size() > 2) {
      node->set_input(2, name);
    } else {
      node->add_input(name);
    }
    out.names.insert(name);
    out.transformations.push_back("added a zero bias '" + name + "' to " + NodeText(*graph, reader) +
                                  " for --bias-correction");
  }
  if (out.names.empty()) return out;
  Result<std::unique_ptr<Model>> added = Model::FromProto(std::move(proto), model.base_dir(), model.origin());
  if (!added.ok()) return added.status();
  out.model = std::move(added).value();
  return out;
}

Result<BiasCorrectionOutcome> CorrectBiases(const Model& model, const QuantPlan& plan,
                                            const std::vector<ConstantDecision>& decided,
                                            const std::set<std::string>& added, const QuantizeOptions& options,
                                            const std::function<void(int64_t, int64_t)>& progress) {
  BiasCorrectionOutcome out;
  const GraphReaders readers(model.proto().graph());
  std::map<std::string, const ConstantRewrite*> rewrites;
  for (const ConstantDecision& d : decided) rewrites[d.rewrite.tensor] = &d.rewrite;
  std::vector<Layer> layers;
  for (const PlannedConstant& c : plan.constants) {
    Layer layer;
    std::string why = ResolveLayer(model, readers, c, &layer);
    if (why == kNotALayer) continue;
    BiasCorrectionRecord& r = out.records[c.tensor];
    r.bias = layer.bias;
    r.bias_added = added.count(layer.bias) != 0;
    auto it = rewrites.find(c.tensor);
    if (why.empty() && (it == rewrites.end() || !Dequantizable(*it->second))) {
      why = "bias correction handles weights written as int8/uint8 DequantizeLinear";
    }
    if (!why.empty()) {
      r.not_applied = why;
      continue;
    }
    layer.rewrite = it->second;
    layers.push_back(std::move(layer));
  }
  if (layers.empty()) return out;
  Result<std::vector<std::vector<double>>> means = MeasureMeans(model, layers, options, progress);
  if (!means.ok()) return means.status();
  auto proto = std::make_unique<onnx::ModelProto>(model.proto());
  for (size_t i = 0; i < layers.size(); ++i) {
    PQ_RETURN_IF_ERROR(CorrectLayer(model, layers[i], means.value()[i], proto->mutable_graph(),
                                    &out.records[layers[i].weight]));
  }
  Result<std::unique_ptr<Model>> corrected = Model::FromProto(std::move(proto), model.base_dir(), model.origin());
  if (!corrected.ok()) return corrected.status();
  out.model = std::move(corrected).value();
  return out;
}

}  // namespace pq::quant
