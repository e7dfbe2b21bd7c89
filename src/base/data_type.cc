#include "pq/data_type.h"

#include <cstddef>
#include <cstdint>
#include <iterator>

namespace pq {
namespace {

using Kind = DataTypeKind;
constexpr bool kRange = true;
constexpr bool kNoRange = false;
constexpr IntegerRange kNone{0, 0};

// One row per TensorProto.DataType number, in number order (row i holds
// number i + 1; checked below).
constexpr DataTypeTraits kDataTypes[] = {
    {kFloat, "float", 32, Kind::kFloatingPoint, kNoRange, kNone},
    {kUint8, "uint8", 8, Kind::kUnsignedInteger, kRange, {0, 255}},
    {kInt8, "int8", 8, Kind::kSignedInteger, kRange, {-128, 127}},
    {kUint16, "uint16", 16, Kind::kUnsignedInteger, kRange, {0, 65535}},
    {kInt16, "int16", 16, Kind::kSignedInteger, kRange, {-32768, 32767}},
    {kInt32, "int32", 32, Kind::kSignedInteger, kRange, {INT32_MIN, INT32_MAX}},
    {kInt64, "int64", 64, Kind::kSignedInteger, kRange, {INT64_MIN, INT64_MAX}},
    {kString, "string", 0, Kind::kString, kNoRange, kNone},
    {kBool, "bool", 8, Kind::kBool, kNoRange, kNone},
    {kFloat16, "float16", 16, Kind::kFloatingPoint, kNoRange, kNone},
    {kDouble, "double", 64, Kind::kFloatingPoint, kNoRange, kNone},
    {kUint32, "uint32", 32, Kind::kUnsignedInteger, kRange, {0, UINT32_MAX}},
    {kUint64, "uint64", 64, Kind::kUnsignedInteger, kNoRange, kNone},  // max > INT64_MAX
    {kComplex64, "complex64", 64, Kind::kComplex, kNoRange, kNone},
    {kComplex128, "complex128", 128, Kind::kComplex, kNoRange, kNone},
    {kBfloat16, "bfloat16", 16, Kind::kFloatingPoint, kNoRange, kNone},
    {kFloat8e4m3fn, "float8e4m3fn", 8, Kind::kFloatingPoint, kNoRange, kNone},
    {kFloat8e4m3fnuz, "float8e4m3fnuz", 8, Kind::kFloatingPoint, kNoRange, kNone},
    {kFloat8e5m2, "float8e5m2", 8, Kind::kFloatingPoint, kNoRange, kNone},
    {kFloat8e5m2fnuz, "float8e5m2fnuz", 8, Kind::kFloatingPoint, kNoRange, kNone},
    {kUint4, "uint4", 4, Kind::kUnsignedInteger, kRange, {0, 15}},
    {kInt4, "int4", 4, Kind::kSignedInteger, kRange, {-8, 7}},
    {kFloat4e2m1, "float4e2m1", 4, Kind::kFloatingPoint, kNoRange, kNone},
};

constexpr bool RowsInNumberOrder() {
  for (size_t i = 0; i < std::size(kDataTypes); ++i) {
    if (kDataTypes[i].number != static_cast<int32_t>(i + 1)) return false;
  }
  return true;
}
static_assert(RowsInNumberOrder(), "kDataTypes[i] must describe TensorProto.DataType i + 1");
static_assert(std::size(kDataTypes) == kFloat4e2m1, "one row per DType");

// The smallest storage width of the floating-point types pq quantizes.
constexpr int kMinQuantizableFloatBits = 16;

}  // namespace

const DataTypeTraits* FindDataTypeTraits(int32_t data_type) {
  if (data_type < 1 || data_type > static_cast<int32_t>(std::size(kDataTypes))) return nullptr;
  return &kDataTypes[data_type - 1];
}

std::string DataTypeName(int32_t data_type) {
  const DataTypeTraits* info = FindDataTypeTraits(data_type);
  if (info == nullptr) return "type" + std::to_string(data_type);
  return info->name;
}

bool IsKnownDataType(int32_t data_type) { return FindDataTypeTraits(data_type) != nullptr; }

std::optional<int64_t> RawByteSize(int32_t data_type, int64_t count) {
  const DataTypeTraits* info = FindDataTypeTraits(data_type);
  if (info == nullptr || info->bits == 0 || count < 0) return std::nullopt;
  if (info->bits == 4) return count / 2 + count % 2;
  const int64_t bytes = info->bits / 8;
  if (count > INT64_MAX / bytes) return std::nullopt;
  return count * bytes;
}

bool IsFloatingPoint(int32_t data_type) {
  const DataTypeTraits* info = FindDataTypeTraits(data_type);
  return info != nullptr && info->kind == DataTypeKind::kFloatingPoint &&
         info->bits >= kMinQuantizableFloatBits;
}

std::optional<IntegerRange> IntegerRangeOf(int32_t data_type) {
  const DataTypeTraits* info = FindDataTypeTraits(data_type);
  if (info == nullptr || !info->has_range) return std::nullopt;
  return info->range;
}

}  // namespace pq
