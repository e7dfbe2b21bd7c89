// Transposing a row-major float matrix, as the blockwise schemes read a
// MatMul weight stored [K, N] as [N, K].
#ifndef PQ_QUANT_TRANSPOSE_H_
#define PQ_QUANT_TRANSPOSE_H_

#include <cstdint>

namespace pq::quant {

// dst[c * rows + r] = src[r * cols + c] for the rows x cols floats at `src`
// (which need not be float-aligned: inline raw data may not be). A copy:
// exact, and the same for any thread count (tiles run in parallel, OpenMP).
// REQUIRES: dst holds rows * cols floats and does not overlap src.
void TransposeFloats(const void* src, int64_t rows, int64_t cols, float* dst);

}  // namespace pq::quant

#endif  // PQ_QUANT_TRANSPOSE_H_
