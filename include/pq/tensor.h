// Tensor: a dense, row-major, 64-byte-aligned array with an ONNX element type
// and a shape. Copies share storage; a tensor produced by a kernel is not
// modified afterwards, so sharing is safe.
#ifndef PQ_TENSOR_H_
#define PQ_TENSOR_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pq/data_type.h"
#include "pq/status.h"

namespace pq {

// Bytes per element of a type the executor holds (kFloat, kUint8, kInt8,
// kInt16, kUint16, kInt32, kUint32, kInt64, kUint64, kBool), or 0 for types it
// does not hold. Most kernels compute with float, int8/uint8, int32 and
// int64; the integer elementwise kernels and data movement take every one. float16,
// bfloat16 and double data is converted to float on the way in.
int ExecutorElementSize(int32_t dtype);

// The element type the executor holds (and is fed) for values declared as
// `dtype`: float16, bfloat16 and double as float, every other type as itself.
// The executor rounds float16 and bfloat16 values to their type's precision.
int32_t ExecutorFeedType(int32_t dtype);

// Returns "[2, 3, 4]".
std::string ShapeToString(const std::vector<int64_t>& shape);

class Tensor {
 public:
  // An undefined tensor (no type, no storage), e.g. a missing optional input.
  Tensor() = default;

  // Allocates a zero-filled tensor. Errors (kInvalidInput): a negative dim,
  // an element count or byte size that overflows, a type the executor does
  // not hold, or more bytes than the machine's physical memory.
  static Result<Tensor> Allocate(int32_t dtype, std::vector<int64_t> shape);

  // As Allocate, but the contents are indeterminate.
  // REQUIRES: the caller writes every element before anyone reads it.
  static Result<Tensor> AllocateUninitialized(int32_t dtype, std::vector<int64_t> shape);

  // A tensor over `size` elements of `dtype` at `data`, borrowed, not
  // copied. Null (undefined) when `data` is not kBorrowAlignment-aligned or
  // `dtype` is not one the executor holds as it is stored.
  // REQUIRES: `data` stays valid and unchanged while this tensor or a copy
  // of it lives, and nobody writes through data<T>() of any of them.
  static constexpr size_t kBorrowAlignment = 64;
  static Tensor Borrowed(int32_t dtype, std::vector<int64_t> shape, const void* data);

  bool defined() const { return dtype_ != 0; }
  int32_t dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
  int64_t dim(int64_t i) const { return shape_[static_cast<size_t>(i)]; }
  int64_t size() const { return size_; }
  int64_t byte_size() const { return size_ * ExecutorElementSize(dtype_); }

  template <typename T>
  T* data() {
    return reinterpret_cast<T*>(storage_.get());
  }
  template <typename T>
  const T* data() const {
    return reinterpret_cast<const T*>(storage_.get());
  }
  void* raw() { return storage_.get(); }
  const void* raw() const { return storage_.get(); }

  // The same data seen with another shape. REQUIRES: same element count.
  Tensor Reshaped(std::vector<int64_t> shape) const;

 private:
  int32_t dtype_ = 0;
  std::vector<int64_t> shape_;
  int64_t size_ = 0;
  std::shared_ptr<uint8_t> storage_;
};

// Makes an executor tensor from packed little-endian bytes of `dtype`
// (raw_data layout). float16, bfloat16 and double become float; uint4 / int4 (two per
// byte, the first element in the low nibble) become one value per byte in
// uint8 / int8 (sign-extended), as the quantized kernels hold them. `what` names the tensor
// in messages. Errors: a type the executor does not hold, a size mismatch.
Result<Tensor> TensorFromBytes(int32_t dtype, const std::vector<int64_t>& shape,
                               const uint8_t* bytes, int64_t byte_size, const std::string& what);

}  // namespace pq

#endif  // PQ_TENSOR_H_
