// Numpy-style broadcasting for the executor's kernels.
#ifndef PQ_EXEC_BROADCAST_H_
#define PQ_EXEC_BROADCAST_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pq::exec {

// Computes the broadcast of `shapes` into `out`. Returns false if two dims
// differ and neither is 1.
bool BroadcastShapes(const std::vector<std::vector<int64_t>>& shapes, std::vector<int64_t>* out);

// Element strides of a row-major tensor of shape `in` read as shape `out`
// (right-aligned; 0 where `in` is broadcast). REQUIRES: `in` broadcasts to `out`.
std::vector<int64_t> BroadcastStrides(const std::vector<int64_t>& in,
                                      const std::vector<int64_t>& out);

// Calls fn(out_index, index_in_a, index_in_b) for every element of `out`,
// walking the innermost dim with constant strides.
template <typename Fn>
void ForEachBroadcast2(const std::vector<int64_t>& out, const std::vector<int64_t>& sa,
                       const std::vector<int64_t>& sb, Fn fn) {
  const size_t rank = out.size();
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  if (total == 0) return;
  if (rank == 0) {
    fn(0, 0, 0);
    return;
  }
  const int64_t inner = out[rank - 1];
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  std::vector<int64_t> counter(rank, 0);
  int64_t a = 0, b = 0;
  for (int64_t o = 0; o < total; o += inner) {
    for (int64_t k = 0; k < inner; ++k) fn(o + k, a + k * ia, b + k * ib);
    // Advance the outer counters (all dims but the innermost).
    for (size_t d = rank - 1; d-- > 0;) {
      ++counter[d];
      a += sa[d];
      b += sb[d];
      if (counter[d] < out[d]) break;
      a -= sa[d] * out[d];
      b -= sb[d] * out[d];
      counter[d] = 0;
    }
  }
}

// The three-input form (Where, Clip with tensors, ...).
template <typename Fn>
void ForEachBroadcast3(const std::vector<int64_t>& out, const std::vector<int64_t>& sa,
                       const std::vector<int64_t>& sb, const std::vector<int64_t>& sc, Fn fn) {
  const size_t rank = out.size();
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  if (total == 0) return;
  if (rank == 0) {
    fn(0, 0, 0, 0);
    return;
  }
  const int64_t inner = out[rank - 1];
  std::vector<int64_t> counter(rank, 0);
  int64_t a = 0, b = 0, c = 0;
  for (int64_t o = 0; o < total; o += inner) {
    for (int64_t k = 0; k < inner; ++k) {
      fn(o + k, a + k * sa[rank - 1], b + k * sb[rank - 1], c + k * sc[rank - 1]);
    }
    for (size_t d = rank - 1; d-- > 0;) {
      ++counter[d];
      a += sa[d];
      b += sb[d];
      c += sc[d];
      if (counter[d] < out[d]) break;
      a -= sa[d] * out[d];
      b -= sb[d] * out[d];
      c -= sc[d] * out[d];
      counter[d] = 0;
    }
  }
}

}  // namespace pq::exec

#endif  // PQ_EXEC_BROADCAST_H_
