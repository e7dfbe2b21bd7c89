#include "quant/qdq_writer.h"

#include <cstring>
#include <map>
#include <set>

#include "onnx/onnx_pb.h"
#include "quant/blockwise_writer.h"
#include "quant/name_allocator.h"

namespace pq::quant {
namespace {

template <typename T>
onnx::TensorProto VectorTensor(const std::string& name, int32_t dtype, const std::vector<T>& values,
                               bool scalar, int elem_bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  if (!scalar) t.add_dims(static_cast<int64_t>(values.size()));
  std::string raw;
  raw.reserve(values.size() * static_cast<size_t>(elem_bytes));
  for (const T& v : values) {
    const int64_t wide = static_cast<int64_t>(v);
    if constexpr (std::is_same_v<T, float>) {
      char bytes[4];
      std::memcpy(bytes, &v, 4);
      raw.append(bytes, 4);
    } else {
      for (int b = 0; b < elem_bytes; ++b) raw.push_back(static_cast<char>((wide >> (8 * b)) & 0xff));
    }
  }
  t.set_raw_data(raw);
  return t;
}

int ElementBytes(int32_t dtype) {
  switch (dtype) {
    case onnx::TensorProto::INT32: return 4;
    case onnx::TensorProto::INT16: case onnx::TensorProto::UINT16: return 2;
    default: return 1;
  }
}

// Adds scale and zero-point initializers for `params`; returns their names.
void AddParams(onnx::GraphProto* graph, NameAllocator* names, const std::string& base,
               const QuantParams& params, WrittenNames* written) {
  const bool scalar = params.axis < 0;
  written->scale = names->Make(base + "_scale");
  written->zero_point = names->Make(base + "_zero_point");
  *graph->add_initializer() =
      VectorTensor<float>(written->scale, onnx::TensorProto::FLOAT, params.scale, scalar, 4);
  *graph->add_initializer() = VectorTensor<int64_t>(written->zero_point, params.dtype,
                                                    params.zero_point, scalar,
                                                    ElementBytes(params.dtype));
}

onnx::NodeProto MakeNode(const std::string& op, const std::string& name,
                         const std::vector<std::string>& inputs, const std::string& output,
                         const QuantParams& params) {
  onnx::NodeProto node;
  node.set_op_type(op);
  node.set_name(name);
  for (const auto& in : inputs) node.add_input(in);
  node.add_output(output);
  if (params.axis >= 0) {
    auto* axis = node.add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(params.axis);
  }
  if (params.block_size > 0) {
    auto* block = node.add_attribute();
    block->set_name("block_size");
    block->set_type(onnx::AttributeProto::INT);
    block->set_i(params.block_size);
  }
  return node;
}

// Every name some node (subgraphs included) reads, plus graph outputs.
void CollectReads(const onnx::GraphProto& graph, std::set<std::string>* reads) {
  for (const auto& node : graph.node()) {
    for (const auto& in : node.input()) reads->insert(in);
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) CollectReads(attr.g(), reads);
      for (const auto& g : attr.graphs()) CollectReads(g, reads);
    }
  }
  for (const auto& out : graph.output()) reads->insert(out.name());
}

}  // namespace

Result<std::unique_ptr<onnx::ModelProto>> WriteQdq(const onnx::ModelProto& model,
                                                    QdqPlan plan,
                                                    std::vector<WrittenNames>* written) {
  auto out = std::make_unique<onnx::ModelProto>(model);
  onnx::GraphProto* graph = out->mutable_graph();
  NameAllocator names(*graph);
  written->clear();
  const int node_count = graph->node_size();
  auto check_use = [&](const Use& use, const std::string& tensor) -> Status {
    if (use.first < 0 || use.first >= node_count ||
        use.second >= graph->node(use.first).input_size() ||
        graph->node(use.first).input(use.second) != tensor) {
      return Status::Internal("QDQ plan: a use of '" + tensor + "' does not match the graph");
    }
    return Status::OK();
  };

  // Nodes to place before every original node (weight DQs, graph-input QDQ),
  // and after each original node (its outputs' QDQ).
  std::vector<onnx::NodeProto> prologue;
  std::map<std::string, std::vector<onnx::NodeProto>> after_producer;
  std::map<std::string, int> producer;
  for (int i = 0; i < node_count; ++i) {
    for (const auto& o : graph->node(i).output()) producer[o] = i;
  }

  BlockwiseNodes blockwise;
  for (ConstantRewrite& c : plan.constants) {
    WrittenNames w;
    w.tensor = c.tensor;
    if (c.encoding != WeightEncoding::kDequantizeLinear) {
      PQ_RETURN_IF_ERROR(WriteBlockwise(c, out.get(), &names, &blockwise, &w));
      written->push_back(std::move(w));
      continue;
    }
    w.quantized = names.Make(c.tensor + "_quantized");
    onnx::TensorProto q;
    q.set_name(w.quantized);
    q.set_data_type(c.params.dtype);
    for (int64_t d : c.shape) q.add_dims(d);
    q.set_raw_data(std::move(c.data));  // the plan is ours: no second copy
    *graph->add_initializer() = std::move(q);
    AddParams(graph, &names, c.tensor, c.params, &w);
    w.dequantized = names.Make(c.tensor + "_dequantized");
    prologue.push_back(MakeNode("DequantizeLinear", names.Make(c.tensor + "_DequantizeLinear"),
                                {w.quantized, w.scale, w.zero_point}, w.dequantized, c.params));
    for (const Use& use : c.uses) {
      PQ_RETURN_IF_ERROR(check_use(use, c.tensor));
      graph->mutable_node(use.first)->set_input(use.second, w.dequantized);
    }
    written->push_back(std::move(w));
  }
  for (const ActivationRewrite& a : plan.activations) {
    WrittenNames w;
    w.tensor = a.tensor;
    AddParams(graph, &names, a.tensor, a.params, &w);
    w.quantized = names.Make(a.tensor + "_quantized");
    w.dequantized = names.Make(a.tensor + "_dequantized");
    std::vector<onnx::NodeProto> pair = {
        MakeNode("QuantizeLinear", names.Make(a.tensor + "_QuantizeLinear"),
                 {a.tensor, w.scale, w.zero_point}, w.quantized, a.params),
        MakeNode("DequantizeLinear", names.Make(a.tensor + "_DequantizeLinear"),
                 {w.quantized, w.scale, w.zero_point}, w.dequantized, a.params)};
    auto& slot = producer.count(a.tensor) != 0 ? after_producer[a.tensor] : prologue;
    slot.insert(slot.end(), pair.begin(), pair.end());
    for (const Use& use : a.uses) {
      PQ_RETURN_IF_ERROR(check_use(use, a.tensor));
      graph->mutable_node(use.first)->set_input(use.second, w.dequantized);
    }
    written->push_back(std::move(w));
  }

  // Re-emit nodes in order with the new ones in place.
  // A fused replacement's first node reads the original node's input 0 as
  // it is now (after activation rewiring).
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& n : prologue) *nodes.Add() = std::move(n);
  for (auto& n : blockwise.prologue) *nodes.Add() = std::move(n);
  for (int i = 0; i < node_count; ++i) {
    const std::vector<std::string> outputs(graph->node(i).output().begin(),
                                           graph->node(i).output().end());
    auto replaced = blockwise.replace.find(i);
    if (replaced != blockwise.replace.end()) {
      replaced->second.front().set_input(0, graph->node(i).input(0));
      for (auto& n : replaced->second) *nodes.Add() = std::move(n);
    } else {
      *nodes.Add() = std::move(*graph->mutable_node(i));
    }
    for (const auto& o : outputs) {
      auto it = after_producer.find(o);
      if (it == after_producer.end()) continue;
      for (auto& n : it->second) *nodes.Add() = std::move(n);
    }
  }
  graph->mutable_node()->Swap(&nodes);

  // Drop FP32 constants nothing reads any more.
  std::set<std::string> reads;
  CollectReads(*graph, &reads);
  std::set<std::string> rewritten;
  for (const ConstantRewrite& c : plan.constants) rewritten.insert(c.tensor);
  auto* inits = graph->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    const std::string& name = inits->Get(i).name();
    if (rewritten.count(name) != 0 && reads.count(name) == 0) inits->DeleteSubrange(i, 1);
  }
  auto* inputs = graph->mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i) {
    const std::string& name = inputs->Get(i).name();
    if (rewritten.count(name) != 0 && reads.count(name) == 0) inputs->DeleteSubrange(i, 1);
  }
  auto* all_nodes = graph->mutable_node();
  for (int i = all_nodes->size() - 1; i >= 0; --i) {
    const onnx::NodeProto& n = all_nodes->Get(i);
    if (n.op_type() == "Constant" && n.output_size() == 1 && rewritten.count(n.output(0)) != 0 &&
        reads.count(n.output(0)) == 0) {
      all_nodes->DeleteSubrange(i, 1);
    }
  }
  return out;
}

}  // namespace pq::quant
