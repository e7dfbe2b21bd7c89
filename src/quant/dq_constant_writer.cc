// The DequantizeLinear row of the constant-writer table: a quantized
// initializer of the constant's shape, its scale and zero point, and a
// DequantizeLinear whose output the consumers read.
#include "quant/constant_writers.h"
#include "quant/qdq_nodes.h"

namespace pq::quant {

Status WriteDequantizeLinearConstant(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w) {
  onnx::GraphProto* graph = target.model->mutable_graph();
  NameAllocator* names = target.names;
  w->quantized = names->Make(c.tensor + "_quantized");
  onnx::TensorProto q;
  q.set_name(w->quantized);
  q.set_data_type(c.params.dtype);
  for (int64_t d : c.shape) q.add_dims(d);
  q.set_raw_data(std::move(c.data));  // the plan is ours: no second copy
  *graph->add_initializer() = std::move(q);
  AddQdqParams(graph, names, c.tensor, c.params, c.float_type, w);
  w->dequantized = names->Make(c.tensor + "_dequantized");
  target.prologue->push_back(MakeQdqNode("DequantizeLinear", names->Make(c.tensor + "_DequantizeLinear"),
                                         {w->quantized, w->scale, w->zero_point}, w->dequantized,
                                         c.params));
  for (const Use& use : c.uses) graph->mutable_node(use.first)->set_input(use.second, w->dequantized);
  return Status::OK();
}

}  // namespace pq::quant
