#include "quant/transpose.h"

#include <algorithm>
#include <cstring>

namespace pq::quant {
namespace {

// Blocks of kBlock x kBlock floats (16 KiB) are transposed one at a time:
// each reads kBlock source rows and writes kBlock destination rows of
// kBlock * 4 = 256 contiguous bytes, so both sides touch few pages and whole
// cache lines (a column at a time would touch a page per element written).
constexpr int64_t kBlock = 64;

}  // namespace

void TransposeFloats(const void* src, int64_t rows, int64_t cols, float* dst) {
  const auto* bytes = static_cast<const char*>(src);
  // Bands of kBlock source rows run in parallel; a band's blocks in order.
#pragma omp parallel for schedule(static)
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t r1 = std::min(rows, r0 + kBlock);
    float block[kBlock * kBlock];
    for (int64_t c0 = 0; c0 < cols; c0 += kBlock) {
      const int64_t c1 = std::min(cols, c0 + kBlock), width = c1 - c0;
      // Source rows in whole (memcpy: the source need not be float-aligned).
      for (int64_t r = r0; r < r1; ++r) {
        std::memcpy(block + (r - r0) * kBlock, bytes + static_cast<size_t>(r * cols + c0) * sizeof(float),
                    static_cast<size_t>(width) * sizeof(float));
      }
      for (int64_t c = c0; c < c1; ++c) {
        float* out = dst + c * rows + r0;
        const float* in = block + (c - c0);
        for (int64_t r = 0; r < r1 - r0; ++r) out[r] = in[r * kBlock];
      }
    }
  }
}

}  // namespace pq::quant
