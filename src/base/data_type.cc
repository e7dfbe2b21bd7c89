#include "pq/data_type.h"

#include <cstdint>

namespace pq {
namespace {

struct DataTypeInfo {
  int32_t number;
  const char* name;
  int bits;  // storage bits per element in raw_data; 0 = not fixed-size
};

// TensorProto.DataType numbers, onnx.proto (IR 10 / onnx 1.17).
constexpr DataTypeInfo kDataTypes[] = {
    {1, "float", 32},          {2, "uint8", 8},          {3, "int8", 8},
    {4, "uint16", 16},         {5, "int16", 16},         {6, "int32", 32},
    {7, "int64", 64},          {8, "string", 0},         {9, "bool", 8},
    {10, "float16", 16},       {11, "double", 64},       {12, "uint32", 32},
    {13, "uint64", 64},        {14, "complex64", 64},    {15, "complex128", 128},
    {16, "bfloat16", 16},      {17, "float8e4m3fn", 8},  {18, "float8e4m3fnuz", 8},
    {19, "float8e5m2", 8},     {20, "float8e5m2fnuz", 8}, {21, "uint4", 4},
    {22, "int4", 4},           {23, "float4e2m1", 4},
};

const DataTypeInfo* Find(int32_t data_type) {
  for (const auto& info : kDataTypes) {
    if (info.number == data_type) return &info;
  }
  return nullptr;
}

}  // namespace

std::string DataTypeName(int32_t data_type) {
  const DataTypeInfo* info = Find(data_type);
  if (info == nullptr) return "type" + std::to_string(data_type);
  return info->name;
}

bool IsKnownDataType(int32_t data_type) { return Find(data_type) != nullptr; }

std::optional<int64_t> RawByteSize(int32_t data_type, int64_t count) {
  const DataTypeInfo* info = Find(data_type);
  if (info == nullptr || info->bits == 0 || count < 0) return std::nullopt;
  if (info->bits == 4) return count / 2 + count % 2;
  const int64_t bytes = info->bits / 8;
  if (count > INT64_MAX / bytes) return std::nullopt;
  return count * bytes;
}

bool IsFloatingPoint(int32_t data_type) {
  return data_type == 1 || data_type == 10 || data_type == 11 || data_type == 16;
}

}  // namespace pq
