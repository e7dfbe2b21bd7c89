// The scale search shared by pq's symmetric block types (q4_0, q5_0 and
// q8_0 with importance, iq4_nl): one half-precision scale d per block and a
// level per value, x ~= d * level (private to src/gguf).
#ifndef PQ_GGUF_GGML_SCALE_SEARCH_H_
#define PQ_GGUF_GGML_SCALE_SEARCH_H_

#include <cstdint>

namespace pq::gguf {

// The levels a block type can hold, ascending. `uniform` means levels[i] ==
// levels[0] + i (the nearest level is then found by rounding).
struct SymmetricLevels {
  const float* levels;
  int count;
  bool uniform;
};

// Chooses the scale (as half bits, in *d_bits) and the level index of each of
// the `n` values `x` (in `index`) that minimise sum_j w_j (x_j - d*level_j)^2,
// where d is the half actually stored. Searches scales that put the value of
// largest magnitude on or near either extreme level, refines the best by
// alternating nearest-level assignment and weighted least squares, then
// compares the half roundings around it (and the plain amax/extreme scale)
// by their exact error. Deterministic.
// REQUIRES: n <= 256, w_j >= 0 finite with a positive sum, x finite.
void SearchSymmetricScale(const float* x, const float* w, int n, const SymmetricLevels& levels,
                          uint16_t* d_bits, uint8_t* index);

// The index of the level nearest to `t`.
int NearestLevel(const SymmetricLevels& levels, float t);

}  // namespace pq::gguf

#endif  // PQ_GGUF_GGML_SCALE_SEARCH_H_
