// ONNX tensor element types as pq knows them: one traits table, a row per
// TensorProto.DataType number, drives names, storage sizes, the floating-point
// test and integer ranges.
//
// Types newer than Debian's onnx 1.12 (FLOAT8*, UINT4, INT4, FLOAT4E2M1) are
// known here by number so that models using them load and are reported
// correctly.
#ifndef PQ_DATA_TYPE_H_
#define PQ_DATA_TYPE_H_

#include <cstdint>
#include <optional>
#include <string>

namespace pq {

// TensorProto.DataType numbers (onnx.proto, IR 10 / onnx 1.17). The one
// definition of each under src/ and include/.
enum DType : int32_t {
  kFloat = 1,
  kUint8 = 2,
  kInt8 = 3,
  kUint16 = 4,
  kInt16 = 5,
  kInt32 = 6,
  kInt64 = 7,
  kString = 8,
  kBool = 9,
  kFloat16 = 10,
  kDouble = 11,
  kUint32 = 12,
  kUint64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kBfloat16 = 16,
  kFloat8e4m3fn = 17,
  kFloat8e4m3fnuz = 18,
  kFloat8e5m2 = 19,
  kFloat8e5m2fnuz = 20,
  kUint4 = 21,
  kInt4 = 22,
  kFloat4e2m1 = 23,
};

// What kind of values an element type holds.
enum class DataTypeKind {
  kFloatingPoint,    // float, float16, bfloat16, double, float8*, float4e2m1
  kSignedInteger,    // int4 .. int64
  kUnsignedInteger,  // uint4 .. uint64
  kBool,
  kComplex,
  kString,
};

// The inclusive value range of an integer type.
struct IntegerRange {
  int64_t lo;
  int64_t hi;
};

// One row of the table.
struct DataTypeTraits {
  int32_t number;     // TensorProto.DataType
  const char* name;   // lower-case ONNX name
  int bits;           // storage bits per element in raw_data; 0 = not fixed-size
  DataTypeKind kind;
  // Inclusive range of an integer type (0, 0 otherwise). has_range is false
  // for non-integers and for uint64, whose upper bound does not fit int64.
  bool has_range;
  IntegerRange range;
};

// Returns the row of `data_type`, or nullptr for a number pq does not know.
const DataTypeTraits* FindDataTypeTraits(int32_t data_type);

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

// Returns true for the floating-point types that hold weights pq may quantize:
// those of at least 16 bits (float, float16, bfloat16, double), not the
// float8 and float4 types.
bool IsFloatingPoint(int32_t data_type);

// Returns the inclusive value range of an integer type (uint4 .. int64, not
// uint64), or nullopt for other types.
std::optional<IntegerRange> IntegerRangeOf(int32_t data_type);

}  // namespace pq

#endif  // PQ_DATA_TYPE_H_
