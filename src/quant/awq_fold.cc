#include "quant/awq_fold.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "onnx/onnx_pb.h"
#include "quant/constant_edit.h"
#include "quant/float_type.h"
#include "quant/matmul_replace.h"
#include "quant/name_allocator.h"
#include "quant/proto_build.h"

namespace pq::quant {
namespace {

// Normalization ops whose output 0 is scaled by input `gamma` (and shifted by
// input `beta`, -1 when the op has none) along the last axis.
struct NormRow {
  const char* op_type;
  int gamma;
  int beta;
};
constexpr NormRow kNorms[] = {
    {"LayerNormalization", 1, 2},
    {"SimplifiedLayerNormalization", 1, -1},
    {"RMSNormalization", 1, -1},
    {"SkipLayerNormalization", 2, 3},
    {"SkipSimplifiedLayerNormalization", 2, -1},
};

std::string NodeName(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? "#" + std::to_string(index) : node.name();
}

// The values of float32, float16 or bfloat16 constant `name` as float32,
// or empty when it is not such a constant.
std::vector<float> FloatsOf(const Model& model, const std::string& name, std::vector<int64_t>* dims) {
  const ConstantTensor* c = model.FindConstant(name);
  if (c == nullptr || !IsQuantizableFloat(c->data_type) || c->data == nullptr) return {};
  *dims = c->dims;
  return ReadFloats(*c);
}

// The float type of constant `name` (float32 when it has none).
int32_t FloatTypeOf(const Model& model, const std::string& name) {
  const ConstantTensor* c = model.FindConstant(name);
  return c != nullptr && IsQuantizableFloat(c->data_type) ? c->data_type : int32_t{onnx::TensorProto::FLOAT};
}

// `c` ([..., 1] or [..., K] or a scalar) divided by s along its last axis,
// widened to K there when it was 1; false when it cannot be.
bool DivideLastAxis(std::vector<float>* c, std::vector<int64_t>* dims, const std::vector<float>& s) {
  const int64_t k = static_cast<int64_t>(s.size());
  const int64_t last = dims->empty() ? 1 : dims->back();
  if (last != 1 && last != k) return false;
  const int64_t outer = last == 0 ? 0 : static_cast<int64_t>(c->size()) / last;
  std::vector<float> out(static_cast<size_t>(outer * k));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t j = 0; j < k; ++j) {
      out[static_cast<size_t>(o * k + j)] = (*c)[static_cast<size_t>(o * last + (last == 1 ? 0 : j))] /
                                            s[static_cast<size_t>(j)];
    }
  }
  if (dims->empty()) dims->push_back(k);
  dims->back() = k;
  *c = std::move(out);
  return true;
}

// Folds 1/s into the producer of `scaling.input` when exact (see the header):
// the constants to rewrite go to `rewrites`, and the producer's description
// is returned; "" when there is no such producer.
std::string FoldIntoProducer(const Model& model, const GraphReaders& readers, const InputScaling& scaling,
                             const std::set<std::string>& scaled_weights,
                             std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>>* rewrites) {
  const onnx::GraphProto& graph = model.proto().graph();
  const std::set<int> scaled(scaling.nodes.begin(), scaling.nodes.end());
  if (!readers.OnlyBy(scaling.input, scaled)) return "";
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& p = graph.node(i);
    if (p.output_size() == 0 || p.output(0) != scaling.input) continue;
    const std::set<int> producer = {i};
    // A constant read by the producer alone, with its values and dims.
    auto own_constant = [&](int slot, std::vector<int64_t>* dims, std::vector<float>* values) {
      if (slot < 0 || slot >= p.input_size() || p.input(slot).empty()) return false;
      if (!readers.OnlyBy(p.input(slot), producer)) return false;
      *values = FloatsOf(model, p.input(slot), dims);
      return !values->empty();
    };
    const std::string what = p.op_type() + " '" + NodeName(p, i) + "'";
    std::vector<int64_t> dims;
    std::vector<float> values;
    if (p.op_type() == "Mul" && p.input_size() == 2) {
      for (int slot = 0; slot < 2; ++slot) {
        if (model.FindConstant(p.input(1 - slot)) != nullptr) continue;
        if (own_constant(slot, &dims, &values) && DivideLastAxis(&values, &dims, scaling.scales)) {
          (*rewrites)[p.input(slot)] = {dims, values};
          return what;
        }
      }
      return "";
    }
    if (p.op_type() == "MatMul" && own_constant(1, &dims, &values) && dims.size() == 2 &&
        dims[1] == static_cast<int64_t>(scaling.scales.size()) && scaled_weights.count(p.input(1)) == 0) {
      DivideLastAxis(&values, &dims, scaling.scales);
      (*rewrites)[p.input(1)] = {dims, values};
      return what;
    }
    for (const NormRow& norm : kNorms) {
      if (p.op_type() != norm.op_type) continue;
      const int64_t k = static_cast<int64_t>(scaling.scales.size());
      std::vector<int64_t> beta_dims;
      std::vector<float> beta;
      if (!own_constant(norm.gamma, &dims, &values) || dims != std::vector<int64_t>{k}) return "";
      const bool has_beta = norm.beta >= 0 && norm.beta < p.input_size() && !p.input(norm.beta).empty();
      if (has_beta && (!own_constant(norm.beta, &beta_dims, &beta) || beta_dims != std::vector<int64_t>{k})) {
        return "";
      }
      DivideLastAxis(&values, &dims, scaling.scales);
      (*rewrites)[p.input(norm.gamma)] = {dims, values};
      if (has_beta) {
        DivideLastAxis(&beta, &beta_dims, scaling.scales);
        (*rewrites)[p.input(norm.beta)] = {beta_dims, beta};
      }
      return what;
    }
    return "";
  }
  return "";
}

// Checks one scaling's contract; on success `weights` receives its weights'
// names, values and dims scaled by s.
Status ScaleWeights(const Model& model, const GraphReaders& readers, const InputScaling& scaling,
                    std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>>* rewrites) {
  const onnx::GraphProto& graph = model.proto().graph();
  const int64_t k = static_cast<int64_t>(scaling.scales.size());
  for (float s : scaling.scales) {
    if (!(s > 0) || !std::isfinite(s)) {
      return Status::InvalidArgument("scales of input '" + scaling.input + "' must be finite and positive");
    }
  }
  const std::set<int> scaled(scaling.nodes.begin(), scaling.nodes.end());
  for (int index : scaling.nodes) {
    if (index < 0 || index >= graph.node_size()) return Status::InvalidArgument("no node #" + std::to_string(index));
    const onnx::NodeProto& node = graph.node(index);
    const std::string where = node.op_type() + " '" + NodeName(node, index) + "'";
    const bool gemm = node.op_type() == "Gemm";
    if ((node.op_type() != "MatMul" && !gemm) || node.input_size() < 2 || node.input(0) != scaling.input ||
        (gemm && AttrInt(node, "transA", 0) != 0)) {
      return Status::InvalidArgument(where + " is not a MatMul or Gemm (transA = 0) reading '" + scaling.input + "'");
    }
    const std::string& name = node.input(1);
    if (rewrites->count(name) != 0) continue;  // read by two of the nodes
    std::vector<int64_t> dims;
    std::vector<float> w = FloatsOf(model, name, &dims);
    const bool k_first = !(gemm && AttrInt(node, "transB", 0) != 0);  // [K, N]; else [N, K]
    if (w.empty() || dims.size() != 2 || dims[k_first ? 0 : 1] != k) {
      return Status::InvalidArgument("weight '" + name + "' of " + where + " is not a 2-D float constant with " +
                                     std::to_string(k) + " input features");
    }
    if (!readers.OnlyBy(name, scaled)) {
      return Status::InvalidArgument("weight '" + name + "' of " + where + " is read by other nodes too");
    }
    for (int64_t r = 0; r < dims[0]; ++r) {
      for (int64_t c = 0; c < dims[1]; ++c) w[static_cast<size_t>(r * dims[1] + c)] *= scaling.scales[static_cast<size_t>(k_first ? r : c)];
    }
    (*rewrites)[name] = {dims, std::move(w)};
  }
  return Status::OK();
}

}  // namespace

Result<ScaledModel> ApplyInputScales(const Model& model, const std::vector<InputScaling>& scalings,
                                     bool exact_only) {
  const onnx::GraphProto& graph = model.proto().graph();
  const GraphReaders readers(graph);
  std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> rewrites;
  std::vector<std::set<std::string>> weights_of(scalings.size());
  for (size_t i = 0; i < scalings.size(); ++i) {
    std::map<std::string, std::pair<std::vector<int64_t>, std::vector<float>>> own;
    PQ_RETURN_IF_ERROR(ScaleWeights(model, readers, scalings[i], &own));
    for (auto& [name, value] : own) {
      if (rewrites.emplace(name, std::move(value)).second) weights_of[i].insert(name);
    }
  }
  std::set<std::string> scaled_weights;
  for (const auto& [name, value] : rewrites) scaled_weights.insert(name);

  auto proto = std::make_unique<onnx::ModelProto>(model.proto());
  onnx::GraphProto* out = proto->mutable_graph();
  NameAllocator names(graph);
  ScaledModel result;
  std::multimap<int, onnx::NodeProto> inserted;  // before which original node
  for (size_t i = 0; i < scalings.size(); ++i) {
    const InputScaling& scaling = scalings[i];
    ScaleFold fold;
    fold.input = scaling.input;
    fold.folded_into = FoldIntoProducer(model, readers, scaling, scaled_weights, &rewrites);
    if (fold.folded_into.empty() && exact_only) {
      // Its weights go back to what they were (no fold wrote them: a scaled
      // weight is never a producer's constant).
      for (const std::string& name : weights_of[i]) rewrites.erase(name);
      fold.applied = false;
    } else if (fold.folded_into.empty()) {
      std::vector<float> inverse(scaling.scales.size());
      for (size_t j = 0; j < inverse.size(); ++j) inverse[j] = 1.0f / scaling.scales[j];
      const std::string constant = names.Make(scaling.input + "_awq_inverse_scale");
      // The input's float type is its readers' weights' (ONNX's T binds them).
      const int32_t dtype = FloatTypeOf(model, graph.node(scaling.nodes.front()).input(1));
      *out->add_initializer() = Initializer(constant, dtype, {static_cast<int64_t>(inverse.size())},
                                            FloatRaw(inverse, dtype));
      onnx::NodeProto mul;
      mul.set_op_type("Mul");
      mul.set_name(names.Make(scaling.input + "_awq_scale"));
      mul.add_input(scaling.input);
      mul.add_input(constant);
      fold.input = names.Make(scaling.input + "_awq_scaled");
      mul.add_output(fold.input);
      fold.folded_into = "Mul inserted ('" + mul.name() + "')";
      fold.inserted = true;
      for (int index : scaling.nodes) out->mutable_node(index)->set_input(0, fold.input);
      inserted.emplace(*std::min_element(scaling.nodes.begin(), scaling.nodes.end()), std::move(mul));
    }
    result.folds.push_back(std::move(fold));
  }
  for (const auto& [name, value] : rewrites) {
    SetConstant(out, name, FloatTypeOf(model, name), value.first, value.second);
  }
  if (!inserted.empty()) {
    std::vector<onnx::NodeProto> nodes(out->node().begin(), out->node().end());
    out->clear_node();
    for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
      auto [first, last] = inserted.equal_range(i);
      for (auto it = first; it != last; ++it) *out->add_node() = it->second;
      *out->add_node() = std::move(nodes[static_cast<size_t>(i)]);
    }
  }
  Result<std::unique_ptr<Model>> scaled = Model::FromProto(std::move(proto), model.base_dir(), model.origin());
  if (!scaled.ok()) return scaled.status();
  result.model = std::move(scaled).value();
  return result;
}

}  // namespace pq::quant
