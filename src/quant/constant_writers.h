// The table of constant writers, keyed by weight encoding: how a decided
// weight is stored in the model and what reads it back. The QDQ writer looks
// each constant's row up; the report names the form from the same row.
// Adding an encoding is one writer function (its own file) and one row in
// constant_writers.cc.
#ifndef PQ_QUANT_CONSTANT_WRITERS_H_
#define PQ_QUANT_CONSTANT_WRITERS_H_

#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/status.h"
#include "quant/blockwise_writer.h"
#include "quant/name_allocator.h"
#include "quant/qdq_writer.h"
#include "quant/scheme.h"

namespace pq::quant {

// Where a constant writer puts what it adds. New nodes go to `prologue`
// (before every original node) or `blockwise` (its own prologue, emitted
// after `prologue`, and replacements of original nodes by index).
struct WriteTarget {
  onnx::ModelProto* model = nullptr;
  NameAllocator* names = nullptr;
  std::vector<onnx::NodeProto>* prologue = nullptr;
  BlockwiseNodes* blockwise = nullptr;
};

// Stores `c` in `target`, rewires its uses (checked by the caller against the
// graph) and names what it wrote in `written`. May move c.data out.
using ConstantWriterFn = Status (*)(ConstantRewrite& c, const WriteTarget& target, WrittenNames* written);

struct ConstantWriterEntry {
  WeightEncoding encoding;
  const char* form;  // how the model reads it back, as the report names it
  ConstantWriterFn write;
};

const std::vector<ConstantWriterEntry>& ConstantWriterTable();

// The row of `encoding` (every encoding has one).
const ConstantWriterEntry& ConstantWriterFor(WeightEncoding encoding);

// The rows' writers.
// dq_constant_writer.cc: the quantized initializer of c.shape and c.params'
// dtype, its scale and zero point, a DequantizeLinear in `prologue`.
Status WriteDequantizeLinearConstant(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w);
// blockwise_writer.cc (REQUIRES c.blockwise): the fused com.microsoft
// MatMulBnb4/MatMulNBits replacing every consumer (and the com.microsoft
// opset). Errors (kNotSupported): a consumer the fused form cannot replace.
Status WriteFusedBlockwise(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w);
// blockwise_writer.cc (REQUIRES c.blockwise): packed codes decoded by
// standard ops through a codebook to the FP32 weight the consumers read.
Status WriteCodebookDecode(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w);
// blocked_dq_writer.cc (REQUIRES c.blockwise in MatMulNBits layout): INT4 /
// UINT4 initializers and an opset-21 DequantizeLinear with block_size; raises
// the model's ir_version to kInt4IrVersion when lower. The caller gives the
// model default-domain opset >= kBlockedDqOpset.
// Errors (kInternal): codes or scales that do not fit the packed dims.
Status WriteBlockedDequantizeLinear(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w);
// DynamicQuantizeLinear, which WriteDynamicMatMul writes, exists from this
// default-domain opset (PrepareModel upgrades a model below it).
constexpr int64_t kDynamicQuantizeOpset = 11;
// dynamic_matmul_writer.cc (REQUIRES c.params int8 per channel of the
// product's N, zero point 0): the int8 weight as MatMulInteger's [K, N] B,
// and every consumer replaced by DynamicQuantizeLinear -> MatMulInteger ->
// Cast -> Mul (+ Gemm's alpha / C). Errors (kNotSupported): default-domain
// opset below kDynamicQuantizeOpset, a consumer that is not a MatMul or
// transA=0 Gemm.
Status WriteDynamicMatMul(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w);
// gather_block_quantized_writer.cc (REQUIRES c.blockwise in MatMulNBits
// layout, not transposed, k even): the packed table, its scales and zero
// points, and every use (input 0 of an axis-0 Gather) replaced by
// com.microsoft GatherBlockQuantized (and the com.microsoft opset).
// Errors (kNotSupported): a use that is not such a Gather; (kInternal)
// codes or scales that do not fit the packed dims.
Status WriteGatherBlockQuantized(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w);

}  // namespace pq::quant

#endif  // PQ_QUANT_CONSTANT_WRITERS_H_
