#include "quant/qdq_writer.h"

#include <map>
#include <set>

#include "onnx/onnx_pb.h"
#include "quant/blockwise_writer.h"
#include "quant/constant_writers.h"
#include "quant/name_allocator.h"
#include "quant/qdq_nodes.h"

namespace pq::quant {
namespace {

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

// Errors (kInternal) when a use is not input `second` of node `first`
// reading `tensor`.
Status CheckUses(const onnx::GraphProto& graph, const std::vector<Use>& uses, const std::string& tensor) {
  for (const Use& use : uses) {
    if (use.first < 0 || use.first >= graph.node_size() || use.second < 0 ||
        use.second >= graph.node(use.first).input_size() ||
        graph.node(use.first).input(use.second) != tensor) {
      return Status::Internal("QDQ plan: a use of '" + tensor + "' does not match the graph");
    }
  }
  return Status::OK();
}

// Nodes the activations add, by where they go: before every original node
// (graph inputs) or after the node producing the tensor.
struct ActivationNodes {
  std::map<std::string, std::vector<onnx::NodeProto>> after_producer;
};

Status WriteActivations(const std::vector<ActivationRewrite>& activations, onnx::GraphProto* graph,
                        NameAllocator* names, std::vector<onnx::NodeProto>* prologue,
                        ActivationNodes* nodes, std::vector<WrittenNames>* written) {
  std::set<std::string> produced;
  for (const auto& node : graph->node()) produced.insert(node.output().begin(), node.output().end());
  for (const ActivationRewrite& a : activations) {
    PQ_RETURN_IF_ERROR(CheckUses(*graph, a.uses, a.tensor));
    WrittenNames w;
    w.tensor = a.tensor;
    AddQdqParams(graph, names, a.tensor, a.params, a.float_type, &w);
    w.quantized = names->Make(a.tensor + "_quantized");
    w.dequantized = names->Make(a.tensor + "_dequantized");
    std::vector<onnx::NodeProto> pair = {
        MakeQdqNode("QuantizeLinear", names->Make(a.tensor + "_QuantizeLinear"),
                    {a.tensor, w.scale, w.zero_point}, w.quantized, a.params),
        MakeQdqNode("DequantizeLinear", names->Make(a.tensor + "_DequantizeLinear"),
                    {w.quantized, w.scale, w.zero_point}, w.dequantized, a.params)};
    auto& slot = produced.count(a.tensor) != 0 ? nodes->after_producer[a.tensor] : *prologue;
    slot.insert(slot.end(), pair.begin(), pair.end());
    for (const Use& use : a.uses) graph->mutable_node(use.first)->set_input(use.second, w.dequantized);
    written->push_back(std::move(w));
  }
  return Status::OK();
}

// Re-emits the nodes in order with the new ones in place. A fused
// replacement's first node reads the original node's input 0 as it is now
// (after activation rewiring).
void PlaceNodes(onnx::GraphProto* graph, std::vector<onnx::NodeProto>* prologue, BlockwiseNodes* blockwise,
                ActivationNodes* activations) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (auto& n : *prologue) *nodes.Add() = std::move(n);
  for (auto& n : blockwise->prologue) *nodes.Add() = std::move(n);
  for (int i = 0; i < graph->node_size(); ++i) {
    const std::vector<std::string> outputs(graph->node(i).output().begin(), graph->node(i).output().end());
    auto replaced = blockwise->replace.find(i);
    if (replaced != blockwise->replace.end()) {
      if (blockwise->literal.count(i) == 0) replaced->second.front().set_input(0, graph->node(i).input(0));
      for (auto& n : replaced->second) *nodes.Add() = std::move(n);
    } else {
      *nodes.Add() = std::move(*graph->mutable_node(i));
    }
    for (const auto& o : outputs) {
      auto it = activations->after_producer.find(o);
      if (it == activations->after_producer.end()) continue;
      for (auto& n : it->second) *nodes.Add() = std::move(n);
    }
  }
  graph->mutable_node()->Swap(&nodes);
}

// Drops the rewritten FP32 constants nothing reads any more: initializers,
// their graph-input entries, and Constant nodes.
void DropUnread(onnx::GraphProto* graph, const std::set<std::string>& rewritten) {
  std::set<std::string> reads;
  CollectReads(*graph, &reads);
  auto unread = [&](const std::string& name) { return rewritten.count(name) != 0 && reads.count(name) == 0; };
  auto* inits = graph->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    if (unread(inits->Get(i).name())) inits->DeleteSubrange(i, 1);
  }
  auto* inputs = graph->mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i) {
    if (unread(inputs->Get(i).name())) inputs->DeleteSubrange(i, 1);
  }
  auto* nodes = graph->mutable_node();
  for (int i = nodes->size() - 1; i >= 0; --i) {
    const onnx::NodeProto& n = nodes->Get(i);
    if (n.op_type() == "Constant" && n.output_size() == 1 && unread(n.output(0))) nodes->DeleteSubrange(i, 1);
  }
}

}  // namespace

Result<std::unique_ptr<onnx::ModelProto>> WriteQdq(const onnx::ModelProto& model, QdqPlan plan,
                                                    std::vector<WrittenNames>* written) {
  auto out = std::make_unique<onnx::ModelProto>(model);
  onnx::GraphProto* graph = out->mutable_graph();
  NameAllocator names(*graph);
  written->clear();
  // Nodes to place before every original node (weight DQs, graph-input
  // QDQ), blockwise nodes, and the QDQ after each activation's producer.
  std::vector<onnx::NodeProto> prologue;
  BlockwiseNodes blockwise;
  ActivationNodes activations;
  const WriteTarget target{out.get(), &names, &prologue, &blockwise};
  std::set<std::string> rewritten;
  for (ConstantRewrite& c : plan.constants) {
    if (IsBlockwiseEncoding(c.encoding) && !c.blockwise) {
      return Status::Internal("constant writer: '" + c.tensor + "' has no blockwise data");
    }
    PQ_RETURN_IF_ERROR(CheckUses(*graph, c.uses, c.tensor));
    WrittenNames w;
    w.tensor = c.tensor;
    PQ_RETURN_IF_ERROR(ConstantWriterFor(c.encoding).write(c, target, &w));
    rewritten.insert(c.tensor);
    written->push_back(std::move(w));
  }
  PQ_RETURN_IF_ERROR(WriteActivations(plan.activations, graph, &names, &prologue, &activations, written));
  PlaceNodes(graph, &prologue, &blockwise, &activations);
  DropUnread(graph, rewritten);
  return out;
}

}  // namespace pq::quant
