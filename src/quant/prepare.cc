#include "quant/prepare.h"

#include <cstring>
#include <map>
#include <set>

#include "base/batchnorm_fold.h"
#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"

namespace pq::quant {
namespace {

bool IsDefault(const onnx::NodeProto& n) { return IsDefaultDomain(n.domain()); }

// Reads a constant float tensor of `model` into `out`; false if it is not one.
bool ConstantFloats(const Model& model, const std::string& name, std::vector<float>* out,
                    std::vector<int64_t>* dims = nullptr) {
  const ConstantTensor* c = model.FindConstant(name);
  if (c == nullptr || c->data_type != onnx::TensorProto::FLOAT || c->data == nullptr) return false;
  out->resize(static_cast<size_t>(c->element_count));
  if (c->byte_size > 0) std::memcpy(out->data(), c->data, static_cast<size_t>(c->byte_size));
  if (dims != nullptr) *dims = c->dims;
  return true;
}

onnx::TensorProto FloatTensor(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<float>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
  return t;
}

std::string UniqueName(const std::set<std::string>& used, const std::string& base) {
  std::string name = base;
  for (int i = 1; used.count(name) != 0; ++i) name = base + "_" + std::to_string(i);
  return name;
}

}  // namespace

Result<std::unique_ptr<Model>> FoldBatchNorms(const Model& model,
                                              std::vector<FoldedBatchNorm>* folded) {
  folded->clear();
  auto proto = std::make_unique<onnx::ModelProto>(model.proto());
  onnx::GraphProto* graph = proto->mutable_graph();
  std::map<std::string, int> consumers;
  std::set<std::string> used;
  for (const auto& n : graph->node()) {
    for (const auto& in : n.input()) {
      ++consumers[in];
      used.insert(in);
    }
    for (const auto& o : n.output()) used.insert(o);
  }
  for (const auto& o : graph->output()) consumers[o.name()] += 1000;  // never fold away an output
  for (const auto& i : graph->initializer()) used.insert(i.name());
  std::map<std::string, int> producer;
  for (int i = 0; i < graph->node_size(); ++i) {
    for (const auto& o : graph->node(i).output()) producer[o] = i;
  }
  std::set<int> removed;
  for (int i = 0; i < graph->node_size(); ++i) {
    const onnx::NodeProto& bn = graph->node(i);
    if (bn.op_type() != "BatchNormalization" || !IsDefault(bn) || bn.input_size() != 5) continue;
    bool training = false;
    float epsilon = 1e-5f;
    for (const auto& a : bn.attribute()) {
      if (a.name() == "training_mode" && a.i() != 0) training = true;
      if (a.name() == "epsilon") epsilon = a.f();
    }
    bool extra_outputs = false;
    for (int o = 1; o < bn.output_size(); ++o) extra_outputs |= !bn.output(o).empty();
    if (training || extra_outputs) continue;
    auto p = producer.find(bn.input(0));
    if (p == producer.end()) continue;
    onnx::NodeProto* conv = graph->mutable_node(p->second);
    if (conv->op_type() != "Conv" || !IsDefault(*conv) || consumers[bn.input(0)] != 1) continue;
    std::vector<float> w, scale, beta, mean, var, bias;
    std::vector<int64_t> w_dims;
    if (!ConstantFloats(model, conv->input(1), &w, &w_dims) || w_dims.empty() ||
        !ConstantFloats(model, bn.input(1), &scale) || !ConstantFloats(model, bn.input(2), &beta) ||
        !ConstantFloats(model, bn.input(3), &mean) || !ConstantFloats(model, bn.input(4), &var)) {
      continue;
    }
    const int64_t channels = w_dims[0];
    if (static_cast<int64_t>(scale.size()) != channels || beta.size() != scale.size() ||
        mean.size() != scale.size() || var.size() != scale.size()) {
      continue;
    }
    if (conv->input_size() > 2 && !conv->input(2).empty()) {
      if (!ConstantFloats(model, conv->input(2), &bias) ||
          static_cast<int64_t>(bias.size()) != channels) {
        continue;
      }
    } else {
      bias.assign(static_cast<size_t>(channels), 0.0f);
    }
    const int64_t per_channel = static_cast<int64_t>(w.size()) / channels;
    FoldBatchNormIntoConv({scale.data(), beta.data(), mean.data(), var.data(), epsilon}, channels,
                          per_channel, w.data(), bias.data());
    const std::string w_name = UniqueName(used, conv->input(1) + "_bnfolded");
    used.insert(w_name);
    const std::string b_name = UniqueName(used, conv->name().empty() ? bn.output(0) + "_bias"
                                                                    : conv->name() + "_bias_bnfolded");
    used.insert(b_name);
    *graph->add_initializer() = FloatTensor(w_name, w_dims, w);
    *graph->add_initializer() = FloatTensor(b_name, {channels}, bias);
    conv->set_input(1, w_name);
    if (conv->input_size() > 2) {
      conv->set_input(2, b_name);
    } else {
      conv->add_input(b_name);
    }
    conv->set_output(0, bn.output(0));
    folded->push_back({bn.name(), conv->name()});
    removed.insert(i);
  }
  if (removed.empty()) return Model::FromProto(std::move(proto), model.base_dir(), model.origin());
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i = 0; i < graph->node_size(); ++i) {
    if (removed.count(i) == 0) *nodes.Add() = graph->node(i);
  }
  graph->mutable_node()->Swap(&nodes);
  // Drop initializers nothing reads any more (the unfolded weights, BN params).
  std::set<std::string> reads;
  for (const auto& n : graph->node()) {
    for (const auto& in : n.input()) reads.insert(in);
  }
  for (const auto& o : graph->output()) reads.insert(o.name());
  auto* inits = graph->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    if (reads.count(inits->Get(i).name()) == 0) inits->DeleteSubrange(i, 1);
  }
  auto* inputs = graph->mutable_input();
  std::set<std::string> init_names;
  for (const auto& init : graph->initializer()) init_names.insert(init.name());
  for (int i = inputs->size() - 1; i >= 0; --i) {
    // IR < 4 lists initializers as inputs; drop entries of removed ones.
    const std::string& name = inputs->Get(i).name();
    if (reads.count(name) == 0 && init_names.count(name) == 0 && model.FindConstant(name) != nullptr) {
      inputs->DeleteSubrange(i, 1);
    }
  }
  return Model::FromProto(std::move(proto), model.base_dir(), model.origin());
}

}  // namespace pq::quant
