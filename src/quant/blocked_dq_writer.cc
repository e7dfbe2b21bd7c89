#include "quant/blocked_dq_writer.h"

#include <cstring>

#include "quant/constant_writers.h"
#include "quant/float_type.h"
#include "quant/int4_blockwise.h"
#include "quant/proto_build.h"

namespace pq::quant {
namespace {

// Symmetric MatMulNBits codes are q + 8; (c - 8) mod 16 == c ^ 8 turns a
// code into q's two's-complement nibble.
constexpr uint8_t kSymmetricCodeFlip = 0x8;
static_assert(((0x0 ^ kSymmetricCodeFlip) & 0xF) == 0x8 && (0xF ^ kSymmetricCodeFlip) == 0x7,
              "code 0 -> q -8 (nibble 0x8), code 15 -> q 7");

}  // namespace

std::string PackNibbles(const std::vector<uint8_t>& values) {
  std::string out((values.size() + 1) / 2, '\0');
  for (size_t j = 0; j < out.size(); ++j) {
    const uint8_t second = 2 * j + 1 < values.size() ? values[2 * j + 1] : 0;
    out[j] = static_cast<char>(PackLowFirst(values[2 * j], second));
  }
  return out;
}

QuantParams BlockedDqParams(const BlockwisePacked& p, bool transposed) {
  const int64_t k_blocks = (p.k + p.block_size - 1) / p.block_size;
  const int64_t zp_row = (k_blocks + 1) / 2;
  const bool symmetric = p.zero_points.empty();
  const auto* zero_points = reinterpret_cast<const uint8_t*>(p.zero_points.data());
  QuantParams out;
  out.dtype = symmetric ? kInt4 : kUint4;
  out.axis = transposed ? 0 : 1;
  out.block_size = p.block_size;
  out.scale.resize(static_cast<size_t>(p.n * k_blocks));
  out.zero_point.assign(out.scale.size(), 0);
  for (int64_t r = 0; r < p.n; ++r) {
    for (int64_t b = 0; b < k_blocks; ++b) {
      const size_t from = static_cast<size_t>(r * k_blocks + b);
      const size_t to = static_cast<size_t>(transposed ? b * p.n + r : r * k_blocks + b);
      out.scale[to] = p.scales[from];
      if (!symmetric) out.zero_point[to] = LowFirstNibble(zero_points + r * zp_row, b);
    }
  }
  return out;
}

Status WriteBlockedDequantizeLinear(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w) {
  onnx::ModelProto* model = target.model;
  NameAllocator* names = target.names;
  std::vector<onnx::NodeProto>* prologue = &target.blockwise->prologue;
  const BlockwisePacked& p = *c.blockwise;
  const int64_t k_blocks = (p.k + p.block_size - 1) / p.block_size;
  const int64_t padded_k = k_blocks * p.block_size;
  const bool symmetric = p.zero_points.empty();
  if (static_cast<int64_t>(p.codes.size()) * 2 != p.n * padded_k ||
      static_cast<int64_t>(p.scales.size()) != p.n * k_blocks ||
      (!symmetric && static_cast<int64_t>(p.zero_points.size()) != p.n * ((k_blocks + 1) / 2))) {
    return Status::Internal("blocked DequantizeLinear writer: '" + c.tensor +
                            "' codes or scales do not fit [" + std::to_string(p.n) + ", " +
                            std::to_string(p.k) + "] in blocks of " + std::to_string(p.block_size));
  }
  // Element (r, j) of [n, k] is nibble r * padded_k + j of the codes; it goes
  // to (j, r) of a [K, N] constant or (r, j) of an [N, K] one.
  const auto* codes = reinterpret_cast<const uint8_t*>(p.codes.data());
  std::vector<uint8_t> values(static_cast<size_t>(p.n * p.k));
  const uint8_t flip = symmetric ? kSymmetricCodeFlip : 0;
  for (int64_t r = 0; r < p.n; ++r) {
    for (int64_t j = 0; j < p.k; ++j) {
      const uint8_t code = LowFirstNibble(codes, r * padded_k + j);
      values[static_cast<size_t>(c.transposed ? j * p.n + r : r * p.k + j)] = code ^ flip;
    }
  }
  const QuantParams params = BlockedDqParams(p, c.transposed);
  const std::vector<int64_t> q_dims =
      c.transposed ? std::vector<int64_t>{p.k, p.n} : std::vector<int64_t>{p.n, p.k};
  const std::vector<int64_t> scale_dims = c.transposed ? std::vector<int64_t>{k_blocks, p.n}
                                                       : std::vector<int64_t>{p.n, k_blocks};
  onnx::GraphProto* graph = model->mutable_graph();
  w->quantized = names->Make(c.tensor + "_quantized");
  w->scale = names->Make(c.tensor + "_scale");
  *graph->add_initializer() = Initializer(w->quantized, params.dtype, q_dims, PackNibbles(values));
  *graph->add_initializer() =
      Initializer(w->scale, c.float_type, scale_dims, FloatRaw(params.scale, c.float_type));
  onnx::NodeProto dq;
  dq.set_op_type("DequantizeLinear");
  dq.set_name(names->Make(c.tensor + "_DequantizeLinear"));
  dq.add_input(w->quantized);
  dq.add_input(w->scale);
  if (!symmetric) {
    w->zero_point = names->Make(c.tensor + "_zero_point");
    const std::vector<uint8_t> zp(params.zero_point.begin(), params.zero_point.end());
    *graph->add_initializer() = Initializer(w->zero_point, kUint4, scale_dims, PackNibbles(zp));
    dq.add_input(w->zero_point);
  }
  w->dequantized = names->Make(c.tensor + "_dequantized");
  dq.add_output(w->dequantized);
  SetInt(&dq, "axis", params.axis);
  SetInt(&dq, "block_size", p.block_size);
  prologue->push_back(std::move(dq));
  for (const Use& use : c.uses) graph->mutable_node(use.first)->set_input(use.second, w->dequantized);
  if (model->ir_version() < kInt4IrVersion) model->set_ir_version(kInt4IrVersion);
  return Status::OK();
}

}  // namespace pq::quant
