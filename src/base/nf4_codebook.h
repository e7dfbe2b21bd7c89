// The NF4 codebook: the 16 levels of QLoRA's 4-bit NormalFloat, code -> value
// (the quantiles of a standard normal scaled to [-1, 1], with an exact zero),
// in the order ONNX Runtime's MatMulBnb4 (quant_type 1) reads them. A weight
// element is kNf4Codebook[code] * absmax of its block.
//
// The one copy under src/: the quantizer (quant/nf4.h) codes against it and
// the executor (exec/kernels/quantized_blockwise.cc) decodes with it.
#ifndef PQ_BASE_NF4_CODEBOOK_H_
#define PQ_BASE_NF4_CODEBOOK_H_

#include <array>

namespace pq {

inline constexpr std::array<float, 16> kNf4Codebook = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

static_assert(kNf4Codebook[0] == -1.0f && kNf4Codebook[7] == 0.0f && kNf4Codebook[15] == 1.0f,
              "NF4 spans [-1, 1] with code 7 exactly zero");

}  // namespace pq

#endif  // PQ_BASE_NF4_CODEBOOK_H_
