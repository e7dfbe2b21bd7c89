// The rotary position embedding (RoPE) of one head vector, shared by the
// RotaryEmbedding kernels (rotary_embedding.cc) and GroupQueryAttention's
// do_rotary (group_query_attention.cc).
#ifndef PQ_EXEC_KERNELS_ROTARY_H_
#define PQ_EXEC_KERNELS_ROTARY_H_

#include <cstdint>

namespace pq::exec {

// Rotates the first `rotary_dim` values of the head vector `x` (of
// `head_size` values) by the angles of one cache row, cos[i] and sin[i] for
// i < rotary_dim / 2, into `y`; values from rotary_dim on are copied. Pair i
// is (x[i], x[i + rotary_dim / 2]) (the GPT-NeoX halves) or, when
// `interleaved`, (x[2i], x[2i + 1]) (GPT-J); each pair (a, b) becomes
//   (a * cos[i] - b * sin[i],  a * sin[i] + b * cos[i]).
// `y` may be `x`. REQUIRES: rotary_dim even, rotary_dim <= head_size.
inline void RotateHead(const float* x, const float* cos, const float* sin, int64_t rotary_dim,
                       int64_t head_size, bool interleaved, float* y) {
  const int64_t half = rotary_dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const int64_t ia = interleaved ? 2 * i : i;
    const int64_t ib = interleaved ? 2 * i + 1 : i + half;
    const float a = x[ia], b = x[ib];
    y[ia] = a * cos[i] - b * sin[i];
    y[ib] = a * sin[i] + b * cos[i];
  }
  if (y != x) {
    for (int64_t i = rotary_dim; i < head_size; ++i) y[i] = x[i];
  }
}

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_ROTARY_H_
