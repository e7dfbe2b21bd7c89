#include "quant/blockwise_writer.h"

#include <algorithm>

#include "onnx/onnx_pb.h"
#include "quant/blocked_dq_writer.h"
#include "quant/constant_writers.h"
#include "quant/float_type.h"
#include "quant/matmul_replace.h"
#include "quant/proto_build.h"

namespace pq::quant {
namespace {

constexpr const char* kMsDomain = "com.microsoft";

void SetInts(onnx::NodeProto* node, const char* name, const std::vector<int64_t>& values) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

std::string Int64s(onnx::GraphProto* graph, NameAllocator* names, BlockwiseNodes* nodes,
                   const std::vector<int64_t>& values) {
  return SharedConstant(graph, names, nodes, "blockwise_shape", onnx::TensorProto::INT64,
                {static_cast<int64_t>(values.size())}, RawBytes(values));
}

// The standard-ops decode subgraph; returns the FP32 weight's name.
Status WriteDecode(const ConstantRewrite& c, onnx::GraphProto* graph, NameAllocator* names,
                   BlockwiseNodes* nodes, WrittenNames* w) {
  const BlockwisePacked& p = *c.blockwise;
  const int64_t blocks = (p.n * p.k + p.block_size - 1) / p.block_size;
  const int64_t half = p.block_size / 2;
  if (static_cast<int64_t>(p.codes.size()) != blocks * half || p.codebook.size() != 16) {
    return Status::Internal("blockwise writer: '" + c.tensor + "' codes are not whole blocks");
  }
  w->quantized = names->Make(c.tensor + "_codes");
  *graph->add_initializer() =
      Initializer(w->quantized, onnx::TensorProto::UINT8, {blocks, half, 1}, p.codes);
  NodeList list(names, c.tensor, &nodes->prologue);
  std::string scales;
  if (p.double_quant) {
    const ScaleDoubleQuant& dq = *p.double_quant;
    const int64_t q_blocks = static_cast<int64_t>(dq.scales.size());
    w->scale = names->Make(c.tensor + "_absmax_codes");
    w->scale_scales = names->Make(c.tensor + "_absmax_scales");
    w->scale_offset = names->Make(c.tensor + "_absmax_offset");
    const int64_t row = static_cast<int64_t>(dq.codes.size()) / std::max<int64_t>(q_blocks, 1);
    *graph->add_initializer() =
        Initializer(w->scale, onnx::TensorProto::INT8, {q_blocks, row}, RawBytes(dq.codes));
    *graph->add_initializer() =
        Initializer(w->scale_scales, c.float_type, {q_blocks, 1}, FloatRaw(dq.scales, c.float_type));
    *graph->add_initializer() =
        Initializer(w->scale_offset, c.float_type, {}, FloatRaw({dq.offset}, c.float_type));
    onnx::NodeProto* cast = list.Add("Cast", {w->scale});
    SetInt(cast, "to", c.float_type);
    const std::string scaled = list.Add("Mul", {cast->output(0), w->scale_scales})->output(0);
    const std::string shifted = list.Add("Add", {scaled, w->scale_offset})->output(0);
    const std::string flat =
        list.Add("Reshape", {shifted, Int64s(graph, names, nodes, {-1})})->output(0);
    const std::string cut = list.Add("Slice", {flat, Int64s(graph, names, nodes, {0}),
                                               Int64s(graph, names, nodes, {blocks})})
                                ->output(0);
    scales = list.Add("Reshape", {cut, Int64s(graph, names, nodes, {blocks, 1, 1})})->output(0);
  } else {
    w->scale = names->Make(c.tensor + "_absmax");
    *graph->add_initializer() =
        Initializer(w->scale, c.float_type, {blocks, 1, 1}, FloatRaw(p.scales, c.float_type));
    scales = w->scale;
  }
  const std::string codebook = SharedConstant(graph, names, nodes, "blockwise_codebook", c.float_type, {16},
                                              FloatRaw(p.codebook, c.float_type));
  const std::string sixteen = SharedConstant(graph, names, nodes, "blockwise_sixteen",
                                     onnx::TensorProto::INT32, {}, RawBytes(std::vector<int32_t>{16}));
  onnx::NodeProto* cast = list.Add("Cast", {w->quantized});
  SetInt(cast, "to", onnx::TensorProto::INT32);
  const std::string wide = cast->output(0);
  const std::string high = list.Add("Div", {wide, sixteen})->output(0);
  const std::string low = list.Add("Mod", {wide, sixteen})->output(0);
  onnx::NodeProto* concat = list.Add("Concat", {high, low});
  SetInt(concat, "axis", 2);
  onnx::NodeProto* gather = list.Add("Gather", {codebook, concat->output(0)});
  SetInt(gather, "axis", 0);
  std::string value = list.Add("Mul", {gather->output(0), scales})->output(0);
  if (blocks * p.block_size != p.n * p.k) {
    value = list.Add("Reshape", {value, Int64s(graph, names, nodes, {-1})})->output(0);
    value = list.Add("Slice", {value, Int64s(graph, names, nodes, {0}),
                               Int64s(graph, names, nodes, {p.n * p.k})})
                ->output(0);
  }
  w->dequantized = names->Make(c.tensor + "_dequantized");
  const std::vector<int64_t> nk = {p.n, p.k};
  if (c.transposed) {
    value = list.Add("Reshape", {value, Int64s(graph, names, nodes, nk)})->output(0);
    onnx::NodeProto* t = list.Add("Transpose", {value}, w->dequantized);
    SetInts(t, "perm", {1, 0});
  } else {
    list.Add("Reshape", {value, Int64s(graph, names, nodes, nk)}, w->dequantized);
  }
  for (const Use& use : c.uses) graph->mutable_node(use.first)->set_input(use.second, w->dequantized);
  return Status::OK();
}

// The fused com.microsoft forms; replaces every consumer.
Status WriteFused(const ConstantRewrite& c, onnx::GraphProto* graph, NameAllocator* names,
                  BlockwiseNodes* nodes, WrittenNames* w, onnx::ModelProto* model) {
  const BlockwisePacked& p = *c.blockwise;
  const bool bnb4 = c.encoding == WeightEncoding::kMatMulBnb4;
  w->quantized = names->Make(c.tensor + (bnb4 ? "_bnb4" : "_nbits"));
  w->scale = names->Make(c.tensor + (bnb4 ? "_absmax" : "_scales"));
  if (bnb4) {
    *graph->add_initializer() = Initializer(
        w->quantized, onnx::TensorProto::UINT8, {static_cast<int64_t>(p.codes.size())}, p.codes);
    *graph->add_initializer() = Initializer(w->scale, c.float_type, {static_cast<int64_t>(p.scales.size())},
                                            FloatRaw(p.scales, c.float_type));
  } else {
    const int64_t k_blocks = (p.k + p.block_size - 1) / p.block_size;
    *graph->add_initializer() = Initializer(w->quantized, onnx::TensorProto::UINT8,
                                            {p.n, k_blocks, p.block_size / 2}, p.codes);
    *graph->add_initializer() =
        Initializer(w->scale, c.float_type, {p.n, k_blocks}, FloatRaw(p.scales, c.float_type));
    if (!p.zero_points.empty()) {
      w->zero_point = names->Make(c.tensor + "_zero_points");
      *graph->add_initializer() = Initializer(w->zero_point, onnx::TensorProto::UINT8,
                                              {p.n, (k_blocks + 1) / 2}, p.zero_points);
    }
  }
  EnsureMicrosoftOpset(model);
  for (const Use& use : c.uses) {
    const onnx::NodeProto& node = graph->node(use.first);
    PQ_RETURN_IF_ERROR(CheckReplaceableMatMul(node, use.second, "a fused 4-bit MatMul"));
    std::vector<onnx::NodeProto>& out = nodes->replace[use.first];
    NodeList list(names, node.name().empty() ? c.tensor : node.name(), &out);
    std::vector<std::string> inputs = {node.input(0), w->quantized, w->scale};
    if (!w->zero_point.empty()) inputs.push_back(w->zero_point);
    onnx::NodeProto* fused =
        list.Add(bnb4 ? "MatMulBnb4" : "MatMulNBits", inputs, NeedsGemmTail(node) ? "" : node.output(0));
    fused->set_domain(kMsDomain);
    SetInt(fused, "K", p.k);
    SetInt(fused, "N", p.n);
    SetInt(fused, "block_size", p.block_size);
    if (bnb4) {
      SetInt(fused, "quant_type", p.quant_type);
    } else {
      SetInt(fused, "bits", 4);
      if (c.accuracy_level >= 0) SetInt(fused, "accuracy_level", c.accuracy_level);
    }
    w->nodes.push_back(fused->name());
    AddGemmTail(node, fused->output(0), c.float_type, graph, names, nodes, &list);
  }
  return Status::OK();
}

}  // namespace

Status WriteCodebookDecode(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w) {
  return WriteDecode(c, target.model->mutable_graph(), target.names, target.blockwise, w);
}

Status WriteFusedBlockwise(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w) {
  return WriteFused(c, target.model->mutable_graph(), target.names, target.blockwise, w, target.model);
}

}  // namespace pq::quant
