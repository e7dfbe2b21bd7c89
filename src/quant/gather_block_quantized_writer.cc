// The GatherBlockQuantized row of the constant-writer table: an embedding
// table in blocks of 4-bit codes read by com.microsoft GatherBlockQuantized
// (uint8 data, bits 4) in place of each Gather:
//
//   data         uint8 [rows, cols / 2]  two codes per byte along the row,
//                                        the FIRST element in the LOW nibble
//   scales       float [rows, ceil(cols / block_size)]
//   zero_points  uint8 [rows, ceil(blocks / 2)] packed the same way
//                (asymmetric only; the default is 8, the symmetric codes'
//                zero point)
//   attributes   gather_axis 0, quantize_axis 1, block_size, bits 4
//
// These are MatMulNBits' codes of the [rows, cols] table (int4_blockwise.h)
// without the padding of each row to whole blocks.
#include <cstring>

#include "quant/constant_writers.h"
#include "quant/float_type.h"
#include "quant/int4_blockwise.h"
#include "quant/matmul_replace.h"
#include "quant/proto_build.h"

namespace pq::quant {

Status WriteGatherBlockQuantized(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w) {
  onnx::GraphProto* graph = target.model->mutable_graph();
  NameAllocator* names = target.names;
  const BlockwisePacked& p = *c.blockwise;
  const int64_t k_blocks = (p.k + p.block_size - 1) / p.block_size;
  const int64_t padded_row = k_blocks * p.block_size / 2;  // bytes per row as packed
  const bool symmetric = p.zero_points.empty();
  if (c.transposed || p.k % 2 != 0 || static_cast<int64_t>(p.codes.size()) != p.n * padded_row ||
      static_cast<int64_t>(p.scales.size()) != p.n * k_blocks ||
      (!symmetric && static_cast<int64_t>(p.zero_points.size()) != p.n * ((k_blocks + 1) / 2))) {
    return Status::Internal("GatherBlockQuantized writer: '" + c.tensor + "' codes or scales do not fit [" +
                            std::to_string(p.n) + ", " + std::to_string(p.k) + "] in blocks of " +
                            std::to_string(p.block_size));
  }
  for (const Use& use : c.uses) {
    const onnx::NodeProto& node = graph->node(use.first);
    if (node.op_type() != "Gather" || use.second != 0 || AttrInt(node, "axis", 0) != 0 || node.output_size() != 1) {
      return Status::NotSupported("node '" + node.name() + "' (" + node.op_type() +
                                  ") cannot be replaced by GatherBlockQuantized");
    }
  }
  // Row r's k / 2 bytes are the first bytes of its padded row.
  std::string data(static_cast<size_t>(p.n * p.k / 2), '\0');
  for (int64_t r = 0; r < p.n; ++r) {
    std::memcpy(&data[static_cast<size_t>(r * p.k / 2)], p.codes.data() + r * padded_row, static_cast<size_t>(p.k / 2));
  }
  w->quantized = names->Make(c.tensor + "_quantized");
  w->scale = names->Make(c.tensor + "_scales");
  *graph->add_initializer() = Initializer(w->quantized, onnx::TensorProto::UINT8, {p.n, p.k / 2}, std::move(data));
  *graph->add_initializer() = Initializer(w->scale, c.float_type, {p.n, k_blocks}, FloatRaw(p.scales, c.float_type));
  if (!symmetric) {
    w->zero_point = names->Make(c.tensor + "_zero_points");
    *graph->add_initializer() =
        Initializer(w->zero_point, onnx::TensorProto::UINT8, {p.n, (k_blocks + 1) / 2}, p.zero_points);
  }
  EnsureMicrosoftOpset(target.model);
  for (const Use& use : c.uses) {
    const onnx::NodeProto& node = graph->node(use.first);
    std::vector<onnx::NodeProto>& out = target.blockwise->replace[use.first];
    NodeList list(names, node.name().empty() ? c.tensor : node.name(), &out);
    std::vector<std::string> inputs = {w->quantized, node.input(1), w->scale};
    if (!symmetric) inputs.push_back(w->zero_point);
    onnx::NodeProto* gather = list.Add("GatherBlockQuantized", inputs, node.output(0));
    gather->set_domain("com.microsoft");
    SetInt(gather, "gather_axis", 0);
    SetInt(gather, "quantize_axis", 1);
    SetInt(gather, "block_size", p.block_size);
    SetInt(gather, "bits", 4);
    target.blockwise->literal.insert(use.first);
    w->nodes.push_back(gather->name());
  }
  return Status::OK();
}

}  // namespace pq::quant
