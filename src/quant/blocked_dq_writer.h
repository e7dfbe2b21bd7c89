// The standard-ops form of blockwise INT4 (WeightEncoding::
// kBlockedDequantizeLinear): the codes become an INT4 (symmetric) or UINT4
// (with zero points) initializer of the FP32 constant's own shape, read by
// one opset-21 DequantizeLinear with `axis` and `block_size` whose FP32
// output replaces the constant in every original consumer:
//
//   MatMul B / Gemm transB=0, stored [K, N]: q [K, N], axis 0,
//     scale (and zero point) [ceil(K / block_size), N]
//   Gemm transB=1, stored [N, K]:            q [N, K], axis 1,
//     scale (and zero point) [N, ceil(K / block_size)]
//
// INT4 / UINT4 raw_data packs two elements per byte in row-major order, the
// FIRST element in the LOW nibble, an odd count padded with 0:
//
//   byte j = | element 2j + 1 (bits 7..4) | element 2j (bits 3..0) |
//
// The values are those MatMulNBits reads from the same BlockwisePacked:
// symmetric codes c (zero point 8) are stored as q = c - 8 in [-8, 7] with no
// zero point (default 0); asymmetric codes and zero points are stored as
// they are. So (q - zero_point) * scale is exactly MatMulNBits' weight.
#ifndef PQ_QUANT_BLOCKED_DQ_WRITER_H_
#define PQ_QUANT_BLOCKED_DQ_WRITER_H_

#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/data_type.h"
#include "pq/quant_params.h"
#include "pq/status.h"
#include "quant/name_allocator.h"
#include "quant/qdq_writer.h"

namespace pq::quant {

// The default-domain opset and IR version the form needs.
constexpr int64_t kBlockedDqOpset = 21;
constexpr int64_t kInt4IrVersion = 10;

// Packs nibble values (low 4 bits of each) two per byte, first in the low
// nibble; an odd count leaves the last high nibble 0.
std::string PackNibbles(const std::vector<uint8_t>& values);

// The parameters as written for `p` (MatMulNBits layout, [n, k] with blocks
// along k; p.zero_points empty = symmetric): dtype INT4 or UINT4, scale and
// zero point laid out as the table above says (`transposed`: the constant
// is stored [K, N]), axis, block_size. Symmetric zero points are all 0.
QuantParams BlockedDqParams(const BlockwisePacked& p, bool transposed);

}  // namespace pq::quant

#endif  // PQ_QUANT_BLOCKED_DQ_WRITER_H_
