// Writes blockwise 4-bit weights (BlockwisePacked) into a graph:
//   kMatMulBnb4 / kMatMulNBits: every consumer (MatMul, or Gemm with
//     transA = 0) is replaced by the com.microsoft node reading the packed
//     initializers; Gemm's alpha becomes a Mul and its bias (times beta) an
//     Add after it.
//   kCodebookDecode: standard ops (opset >= 10) turn the packed codes back
//     into the FP32 weight, which the original consumers read:
//       codes uint8 [blocks, block_size / 2, 1] -Cast(int32)-> Div 16 (high
//       nibble, first element) and Mod 16 (low nibble) -Concat(axis 2)->
//       Gather(codebook) -Mul(scales [blocks, 1, 1])-> Reshape/Slice to
//       [N, K] (-Transpose-> [K, N] when the constant was [K, N]).
//     Double-quantized scales are rebuilt first:
//       Cast(codes int8 [q_blocks, q_block], float) * scales [q_blocks, 1]
//       + offset, flattened, sliced to `blocks`, reshaped [blocks, 1, 1].
//   kBlockedDequantizeLinear: INT4/UINT4 -> opset-21 DequantizeLinear with
//     block_size (see blocked_dq_writer.h).
// Like the QDQ writer, it decides no number: it stores what it is given.
#ifndef PQ_QUANT_BLOCKWISE_WRITER_H_
#define PQ_QUANT_BLOCKWISE_WRITER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/status.h"
#include "quant/name_allocator.h"
#include "quant/qdq_writer.h"

namespace pq::quant {

// Nodes a blockwise rewrite adds: `prologue` runs before every original node
// (decode subgraphs); `replace[i]` takes the place of original node i (fused
// forms; the first node reads the original node's input 0).
struct BlockwiseNodes {
  std::vector<onnx::NodeProto> prologue;
  std::map<int, std::vector<onnx::NodeProto>> replace;
  // Replacements written as they are: their first node does not take the
  // original node's input 0 (a GatherBlockQuantized reads the indices).
  std::set<int> literal;
  // Small constants shared by every decode subgraph: content key -> name.
  std::map<std::string, std::string> shared;
};

}  // namespace pq::quant

#endif  // PQ_QUANT_BLOCKWISE_WRITER_H_
