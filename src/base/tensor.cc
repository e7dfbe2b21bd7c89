#include "pq/tensor.h"

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "base/block_cache.h"
#include "base/float16.h"
#include "pq/data_type.h"

namespace pq {
namespace {

constexpr size_t kAlignment = 64;

int64_t PhysicalMemoryBytes() {
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return INT64_MAX;
  return static_cast<int64_t>(pages) * page_size;
}

}  // namespace

int ExecutorElementSize(int32_t dtype) {
  switch (dtype) {
    case kFloat: case kInt32: case kUint32: return 4;
    case kInt64: case kUint64: return 8;
    case kInt16: case kUint16: return 2;
    case kUint8: case kInt8: case kBool: return 1;
    default: return 0;
  }
}

std::string ShapeToString(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  return out + "]";
}

Result<Tensor> Tensor::Allocate(int32_t dtype, std::vector<int64_t> shape) {
  Result<Tensor> t = AllocateUninitialized(dtype, std::move(shape));
  if (t.ok() && t->byte_size() > 0) std::memset(t->raw(), 0, static_cast<size_t>(t->byte_size()));
  return t;
}

Result<Tensor> Tensor::AllocateUninitialized(int32_t dtype, std::vector<int64_t> shape) {
  const int element = ExecutorElementSize(dtype);
  if (element == 0) {
    return Status::NotSupported("the executor does not compute with " + DataTypeName(dtype));
  }
  std::optional<int64_t> count = CheckedElementCount(shape);
  if (!count || *count > INT64_MAX / element) {
    return Status::InvalidInput("shape " + ShapeToString(shape) + " is negative or too large");
  }
  const int64_t bytes = *count * element;
  static const int64_t kLimit = PhysicalMemoryBytes();
  if (bytes > kLimit) {
    return Status::InvalidInput("a " + DataTypeName(dtype) + " tensor of shape " +
                                ShapeToString(shape) + " needs " + std::to_string(bytes) +
                                " bytes, more than this machine's memory");
  }
  size_t rounded = (static_cast<size_t>(bytes) + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  void* memory = base::AcquireBlock(kAlignment, rounded);
  if (memory == nullptr) {
    return Status::InvalidInput("cannot allocate " + std::to_string(bytes) + " bytes for shape " +
                                ShapeToString(shape));
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = *count;
  t.storage_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(memory),
                                        [rounded](uint8_t* p) { base::ReleaseBlock(p, rounded); });
  return t;
}

Tensor Tensor::Borrowed(int32_t dtype, std::vector<int64_t> shape, const void* data) {
  static_assert(kBorrowAlignment == kAlignment, "kernels may rely on allocated tensors' alignment");
  std::optional<int64_t> count = CheckedElementCount(shape);
  if (ExecutorElementSize(dtype) == 0 || !count || data == nullptr ||
      reinterpret_cast<uintptr_t>(data) % kBorrowAlignment != 0) {
    return Tensor();
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.size_ = *count;
  // The aliasing constructor with no owner: a pointer that frees nothing.
  t.storage_ = std::shared_ptr<uint8_t>(std::shared_ptr<uint8_t>(),
                                        static_cast<uint8_t*>(const_cast<void*>(data)));
  return t;
}

Tensor Tensor::Reshaped(std::vector<int64_t> shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

int32_t ExecutorFeedType(int32_t dtype) {
  return (dtype == kFloat16 || dtype == kBfloat16 || dtype == kDouble) ? kFloat : dtype;
}

Result<Tensor> TensorFromBytes(int32_t dtype, const std::vector<int64_t>& shape,
                               const uint8_t* bytes, int64_t byte_size, const std::string& what) {
  std::optional<int64_t> count = CheckedElementCount(shape);
  if (!count) return Status::InvalidInput(what + ": invalid shape " + ShapeToString(shape));
  const int32_t target = dtype == kUint4  ? kUint8
                         : dtype == kInt4 ? kInt8
                                          : ExecutorFeedType(dtype);
  if (ExecutorElementSize(target) == 0) {
    return Status::NotSupported(what + ": the executor does not compute with " +
                                DataTypeName(dtype));
  }
  std::optional<int64_t> expected = RawByteSize(dtype, *count);
  if (!expected || *expected != byte_size) {
    return Status::InvalidInput(what + ": holds " + std::to_string(byte_size) + " bytes, " +
                                DataTypeName(dtype) + " " + ShapeToString(shape) + " needs " +
                                std::to_string(expected.value_or(-1)));
  }
  Result<Tensor> t = Tensor::Allocate(target, shape);
  if (!t.ok()) return t.status().WithPrefix(what);
  if (dtype == kFloat16) {
    float* out = t->data<float>();
    for (int64_t i = 0; i < *count; ++i) {
      uint16_t h;
      std::memcpy(&h, bytes + 2 * i, 2);
      out[i] = HalfBitsToFloat(h);
    }
  } else if (dtype == kBfloat16) {
    float* out = t->data<float>();
    for (int64_t i = 0; i < *count; ++i) {
      uint16_t b;
      std::memcpy(&b, bytes + 2 * i, 2);
      out[i] = Bfloat16BitsToFloat(b);
    }
  } else if (dtype == kDouble) {
    float* out = t->data<float>();
    for (int64_t i = 0; i < *count; ++i) {
      double d;
      std::memcpy(&d, bytes + 8 * i, 8);
      out[i] = static_cast<float>(d);
    }
  } else if (dtype == kUint4 || dtype == kInt4) {
    // Two per byte, element 2i in the low nibble; int4 is sign-extended.
    uint8_t* out = static_cast<uint8_t*>(t->raw());
    for (int64_t i = 0; i < *count; ++i) {
      const uint8_t nibble = static_cast<uint8_t>((bytes[i / 2] >> (4 * (i % 2))) & 0x0F);
      out[i] = dtype == kInt4 && nibble >= 8 ? static_cast<uint8_t>(nibble | 0xF0) : nibble;
    }
  } else if (byte_size > 0) {
    std::memcpy(t->raw(), bytes, static_cast<size_t>(byte_size));
  }
  return t;
}

}  // namespace pq
