// Helpers shared by the shape and movement kernels: axis normalisation,
// dispatch on element size or element type, and strided copies that move
// elements of any executor dtype.
//
// Kernels that only move data work on the element size (1, 4 or 8 bytes), so
// one instantiation serves float, int32, int64, int8, uint8 and bool alike.
#ifndef PQ_EXEC_KERNELS_MOVEMENT_COMMON_H_
#define PQ_EXEC_KERNELS_MOVEMENT_COMMON_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "exec/kernel.h"
#include "pq/tensor.h"

namespace pq::exec::movement {

// Returns an error naming the first of inputs [0, count) that is missing.
inline Status RequireInputs(const KernelContext& ctx, int count) {
  for (int i = 0; i < count; ++i) {
    if (!ctx.has_input(i)) return ctx.Error("required input " + std::to_string(i) + " is missing");
  }
  return Status::OK();
}

// Returns a * b, or -1 when either is negative or the product overflows.
inline int64_t CheckedMul(int64_t a, int64_t b) {
  int64_t p;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &p)) return -1;
  return p;
}

// Sets `*out` to `axis` counted from the front when it is in [-rank, rank).
// Returns false (leaving `*out` alone) when it is out of range.
inline bool NormalizeAxis(int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank) return false;
  *out = axis < 0 ? axis + rank : axis;
  return true;
}

// The message for an axis that NormalizeAxis refused.
inline std::string AxisError(int64_t axis, int64_t rank) {
  return "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank);
}

// The product of shape[begin..end).
inline int64_t Product(const std::vector<int64_t>& shape, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end && i < shape.size(); ++i) p *= shape[i];
  return p;
}
inline int64_t Product(const std::vector<int64_t>& shape) {
  return Product(shape, 0, shape.size());
}

// Row-major element strides of `shape`.
inline std::vector<int64_t> DenseStrides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

// Calls fn(U{}) with an unsigned integer type U of `element_size` bytes.
// Returns false for a size no executor type has.
template <typename Fn>
bool ForElementSize(int element_size, Fn&& fn) {
  switch (element_size) {
    case 1: fn(uint8_t{}); return true;
    case 2: fn(uint16_t{}); return true;
    case 4: fn(uint32_t{}); return true;
    case 8: fn(uint64_t{}); return true;
    default: return false;
  }
}

// Calls fn(T{}) with the C++ type of a numeric executor dtype (bool is read
// as uint8_t). Returns false for other dtypes.
template <typename Fn>
bool ForNumericType(int32_t dtype, Fn&& fn) {
  switch (dtype) {
    case kFloat: fn(float{}); return true;
    case kInt64: fn(int64_t{}); return true;
    case kInt32: fn(int32_t{}); return true;
    case kInt8: fn(int8_t{}); return true;
    case kUint8: case kBool: fn(uint8_t{}); return true;
    default: return false;
  }
}

// Converts `v` to T: floats pass through, integers round half to even and
// saturate to T's range (NaN becomes 0).
template <typename T>
T CastFromDouble(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else {
    if (std::isnan(v)) return T{0};
    const double r = std::nearbyint(v);
    if (r <= static_cast<double>(std::numeric_limits<T>::min())) {
      return std::numeric_limits<T>::min();
    }
    if (r >= static_cast<double>(std::numeric_limits<T>::max())) {
      return std::numeric_limits<T>::max();
    }
    return static_cast<T>(r);
  }
}

// Writes `v` as one element of `dtype` at `dst`. REQUIRES: a numeric dtype.
inline void StoreAs(int32_t dtype, double v, void* dst) {
  ForNumericType(dtype, [&](auto tag) {
    using T = decltype(tag);
    const T t = dtype == kBool ? static_cast<T>(v != 0) : CastFromDouble<T>(v);
    std::memcpy(dst, &t, sizeof(T));
  });
}

// Drops unit dims and merges neighbouring dims that are contiguous in the
// source, so that a strided view is walked with as few, as long runs as
// possible. The view addresses the same elements in the same order.
inline void SimplifyView(std::vector<int64_t>* shape, std::vector<int64_t>* strides) {
  std::vector<int64_t> s, st;
  for (size_t i = 0; i < shape->size(); ++i) {
    if ((*shape)[i] == 1) continue;
    if (!s.empty() && st.back() == (*strides)[i] * (*shape)[i]) {
      s.back() *= (*shape)[i];
      st.back() = (*strides)[i];
      continue;
    }
    s.push_back((*shape)[i]);
    st.push_back((*strides)[i]);
  }
  *shape = std::move(s);
  *strides = std::move(st);
}

// Copies the strided view of `src` with `shape` and per-dim element
// `strides` (any sign, 0 repeats) into the dense row-major `dst`. `src`
// points at the view's first element; every element of the view must lie
// inside the source buffer. Batched 2-D transposes are copied in tiles.
template <typename T>
void StridedCopyTyped(const T* src, std::vector<int64_t> shape, std::vector<int64_t> strides,
                      T* dst) {
  for (int64_t d : shape) {
    if (d == 0) return;
  }
  SimplifyView(&shape, &strides);
  const size_t rank = shape.size();
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  const int64_t total = Product(shape);
  std::vector<int64_t> counter(rank, 0);
  int64_t offset = 0;
  // Advances the counters of dims [0, last) and the source offset.
  auto advance = [&](size_t last) {
    for (size_t d = last; d-- > 0;) {
      offset += strides[d];
      if (++counter[d] < shape[d]) return;
      offset -= strides[d] * shape[d];
      counter[d] = 0;
    }
  };
  constexpr int64_t kTile = 32;
  if (rank >= 2 && strides[rank - 2] == 1 && strides[rank - 1] != 1) {
    // dst[.., a, b] = src[.., a * 1 + b * sb]: a transposed inner matrix.
    const int64_t rows = shape[rank - 2], cols = shape[rank - 1], sb = strides[rank - 1];
    for (int64_t o = 0; o < total; o += rows * cols) {
      const T* s = src + offset;
      T* d = dst + o;
      for (int64_t a0 = 0; a0 < rows; a0 += kTile) {
        const int64_t a1 = std::min(rows, a0 + kTile);
        for (int64_t b0 = 0; b0 < cols; b0 += kTile) {
          const int64_t b1 = std::min(cols, b0 + kTile);
          for (int64_t a = a0; a < a1; ++a) {
            for (int64_t b = b0; b < b1; ++b) d[a * cols + b] = s[a + b * sb];
          }
        }
      }
      advance(rank - 2);
    }
    return;
  }
  const int64_t inner = shape[rank - 1], step = strides[rank - 1];
  for (int64_t o = 0; o < total; o += inner) {
    const T* s = src + offset;
    T* d = dst + o;
    if (step == 1) {
      std::memcpy(d, s, static_cast<size_t>(inner) * sizeof(T));
    } else {
      for (int64_t k = 0; k < inner; ++k) d[k] = s[k * step];
    }
    advance(rank - 1);
  }
}

// StridedCopyTyped over raw bytes of `element_size`; `src_offset` is the
// element offset of the view's first element.
inline void StridedCopy(const void* src, int64_t src_offset, const std::vector<int64_t>& shape,
                        const std::vector<int64_t>& strides, void* dst, int element_size) {
  ForElementSize(element_size, [&](auto tag) {
    using U = decltype(tag);
    StridedCopyTyped<U>(static_cast<const U*>(src) + src_offset, shape, strides,
                        static_cast<U*>(dst));
  });
}

// Returns `in` permuted by `perm` (out[i] = in[perm[i]]), dense.
// REQUIRES: `perm` is a permutation of [0, in.rank()); `out` is allocated
// with the permuted shape and in's dtype.
inline void TransposeInto(const Tensor& in, const std::vector<int64_t>& perm, Tensor* out) {
  const std::vector<int64_t> in_strides = DenseStrides(in.shape());
  std::vector<int64_t> shape(perm.size()), strides(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    shape[i] = in.shape()[static_cast<size_t>(perm[i])];
    strides[i] = in_strides[static_cast<size_t>(perm[i])];
  }
  StridedCopy(in.raw(), 0, shape, strides, out->raw(), ExecutorElementSize(in.dtype()));
}

}  // namespace pq::exec::movement

#endif  // PQ_EXEC_KERNELS_MOVEMENT_COMMON_H_
