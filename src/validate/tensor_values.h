// Reading the elements of an executor tensor as plain numbers, whatever its
// numeric element type.
#ifndef PQ_SRC_VALIDATE_TENSOR_VALUES_H_
#define PQ_SRC_VALIDATE_TENSOR_VALUES_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "pq/tensor.h"

namespace pq::validate {

// Returns the elements of `t` each converted with static_cast<T>, or nullopt
// when its element type is none of float, int8, uint8, int32, int64, bool.
template <typename T>
std::optional<std::vector<T>> ConvertElements(const Tensor& t) {
  std::vector<T> out(static_cast<size_t>(t.size()));
  auto copy = [&](const auto* p) {
    for (int64_t i = 0; i < t.size(); ++i) out[static_cast<size_t>(i)] = static_cast<T>(p[i]);
  };
  switch (t.dtype()) {
    case kFloat: copy(t.data<float>()); break;
    case kInt8: copy(t.data<int8_t>()); break;
    case kUint8: copy(t.data<uint8_t>()); break;
    case kInt32: copy(t.data<int32_t>()); break;
    case kInt64: copy(t.data<int64_t>()); break;
    case kBool: copy(t.data<uint8_t>()); break;
    default: return std::nullopt;
  }
  return out;
}

}  // namespace pq::validate

#endif  // PQ_SRC_VALIDATE_TENSOR_VALUES_H_
