// ONNX tensor element types as pq knows them: names and storage sizes.
//
// Values are TensorProto.DataType numbers. Types newer than Debian's onnx 1.12
// (FLOAT8*, UINT4, INT4, FLOAT4E2M1) are known here by number so that models
// using them load and are reported correctly.
#ifndef PQ_DATA_TYPE_H_
#define PQ_DATA_TYPE_H_

#include <cstdint>
#include <optional>
#include <string>

namespace pq {

// Returns the lower-case ONNX name of a data type ("float", "int8", ...), or
// "type<N>" for a number pq does not know.
std::string DataTypeName(int32_t data_type);

// Returns true if `data_type` is a number pq knows (1..23, STRING included).
bool IsKnownDataType(int32_t data_type);

// Returns the number of bytes that `count` elements of `data_type` occupy in
// raw_data (4-bit types pack two per byte, rounded up), or nullopt for STRING,
// unknown types, or when the size would overflow int64.
std::optional<int64_t> RawByteSize(int32_t data_type, int64_t count);

// Returns the product of `dims`, or nullopt if a dim is negative or the
// product overflows int64. The product of no dims (a scalar) is 1.
template <typename Dims>
std::optional<int64_t> CheckedElementCount(const Dims& dims) {
  int64_t count = 1;
  for (const auto d : dims) {
    const int64_t dim = static_cast<int64_t>(d);
    if (dim < 0) return std::nullopt;
    if (dim != 0 && count > INT64_MAX / dim) return std::nullopt;
    count *= dim;
  }
  return count;
}

// Returns true for the floating-point types that hold weights pq may quantize
// (float, float16, bfloat16, double).
bool IsFloatingPoint(int32_t data_type);

}  // namespace pq

#endif  // PQ_DATA_TYPE_H_
