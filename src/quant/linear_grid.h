// The grid of the int8 schemes' weights for rounding algorithms (GPTQ, AWQ):
// linear quantization on [qmin, qmax] as linear_quant.h computes it, one
// scale and zero point per output channel (a block per row of the [n, k]
// view) or one for the whole weight. A MatMul weight stored [K, N] is seen
// transposed, and written back in its own layout with the per-channel axis
// the int8 schemes give it (1 for [K, N], 0 for Gemm transB = 1's [N, K]).
#ifndef PQ_QUANT_LINEAR_GRID_H_
#define PQ_QUANT_LINEAR_GRID_H_

#include <cstdint>
#include <memory>

#include "quant/weight_grid.h"

namespace pq::quant {

struct LinearGridSpec {
  int32_t dtype = 0;  // ONNX int8 or uint8
  int64_t qmin = 0, qmax = 0;
  bool symmetric = true;  // zero point 0, scale max|w| / qmax (ChooseParams)
};

// REQUIRES: qmin < qmax; qmin < 0 < qmax when symmetric.
std::shared_ptr<const WeightGrid> MakeLinearGrid(const LinearGridSpec& spec, bool per_channel, bool transposed);

}  // namespace pq::quant

#endif  // PQ_QUANT_LINEAR_GRID_H_
