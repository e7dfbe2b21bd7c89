#include "io/tensor_bytes.h"

#include <cstring>

#include "onnx/onnx_pb.h"
#include "pq/data_type.h"

namespace pq {
namespace {

enum class TypedField { kNone, kFloat, kInt32, kInt64, kDouble, kUint64, kString };

// Which typed field holds a data type, and how many entries one element takes
// (2 for complex numbers). 4-bit types hold one packed byte per int32 entry.
TypedField FieldOf(int32_t data_type, int* per_element) {
  *per_element = 1;
  switch (data_type) {
    case 1: return TypedField::kFloat;
    case 14: *per_element = 2; return TypedField::kFloat;
    case 2: case 3: case 4: case 5: case 6: case 9: case 10: case 16:
    case 17: case 18: case 19: case 20: case 21: case 22: case 23:
      return TypedField::kInt32;
    case 7: return TypedField::kInt64;
    case 8: return TypedField::kString;
    case 11: return TypedField::kDouble;
    case 15: *per_element = 2; return TypedField::kDouble;
    case 12: case 13: return TypedField::kUint64;
    default: return TypedField::kNone;
  }
}

int64_t FieldSize(const onnx::TensorProto& t, TypedField field) {
  switch (field) {
    case TypedField::kFloat: return t.float_data_size();
    case TypedField::kInt32: return t.int32_data_size();
    case TypedField::kInt64: return t.int64_data_size();
    case TypedField::kDouble: return t.double_data_size();
    case TypedField::kUint64: return t.uint64_data_size();
    case TypedField::kString: return t.string_data_size();
    case TypedField::kNone: return 0;
  }
  return 0;
}

int64_t AnyTypedFieldSize(const onnx::TensorProto& t) {
  return t.float_data_size() + t.int32_data_size() + t.int64_data_size() + t.double_data_size() +
         t.uint64_data_size() + t.string_data_size();
}

template <typename T>
void AppendLittleEndian(T value, int bytes, std::string* out) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(T));
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

}  // namespace

Result<int64_t> TensorElementCount(const onnx::TensorProto& tensor, const std::string& where) {
  for (int64_t d : tensor.dims()) {
    if (d < 0) {
      return Status::InvalidInput(where + ": negative dimension " + std::to_string(d));
    }
  }
  std::optional<int64_t> count = CheckedElementCount(tensor.dims());
  if (!count) return Status::InvalidInput(where + ": the product of its dims overflows int64");
  return *count;
}

Result<int64_t> ExpectedRawBytes(const onnx::TensorProto& tensor, const std::string& where) {
  Result<int64_t> count = TensorElementCount(tensor, where);
  if (!count.ok()) return count.status();
  if (!IsKnownDataType(tensor.data_type())) {
    return Status::NotSupported(where + ": unknown data type " +
                                std::to_string(tensor.data_type()));
  }
  if (tensor.data_type() == 8) return int64_t{0};
  std::optional<int64_t> bytes = RawByteSize(tensor.data_type(), count.value());
  if (!bytes) return Status::InvalidInput(where + ": its byte size overflows int64");
  return *bytes;
}

Status CheckInlineTensorData(const onnx::TensorProto& tensor, const std::string& where) {
  if (tensor.has_segment()) {
    return Status::NotSupported(where + ": segmented tensors are not supported");
  }
  Result<int64_t> expected = ExpectedRawBytes(tensor, where);
  if (!expected.ok()) return expected.status();
  const std::string type = DataTypeName(tensor.data_type());
  if (tensor.has_raw_data()) {
    if (tensor.data_type() == 8) {
      return Status::InvalidInput(where + ": a string tensor cannot use raw_data");
    }
    if (AnyTypedFieldSize(tensor) != 0) {
      return Status::InvalidInput(where + ": holds both raw_data and a typed data field");
    }
    const int64_t actual = static_cast<int64_t>(tensor.raw_data().size());
    if (actual != expected.value()) {
      return Status::InvalidInput(where + ": raw data is " + std::to_string(actual) +
                                  " bytes but its dims and type (" + type + ") need " +
                                  std::to_string(expected.value()));
    }
    return Status::OK();
  }
  int per_element = 1;
  const TypedField field = FieldOf(tensor.data_type(), &per_element);
  Result<int64_t> count = TensorElementCount(tensor, where);
  int64_t entries = count.value();
  if (tensor.data_type() >= 21 && tensor.data_type() <= 23) entries = entries / 2 + entries % 2;
  if (entries > INT64_MAX / per_element) {
    return Status::InvalidInput(where + ": the product of its dims overflows int64");
  }
  entries *= per_element;
  const int64_t actual = FieldSize(tensor, field);
  if (actual != entries || AnyTypedFieldSize(tensor) != actual) {
    return Status::InvalidInput(where + ": holds " + std::to_string(AnyTypedFieldSize(tensor)) +
                                " data entries but its dims and type (" + type + ") need " +
                                std::to_string(entries));
  }
  return Status::OK();
}

std::string PackTypedFields(const onnx::TensorProto& tensor) {
  std::string out;
  const int32_t type = tensor.data_type();
  switch (type) {
    case 1: case 14:
      out.reserve(static_cast<size_t>(tensor.float_data_size()) * 4);
      for (float v : tensor.float_data()) AppendLittleEndian(v, 4, &out);
      break;
    case 2: case 3: case 9: case 17: case 18: case 19: case 20: case 21: case 22: case 23:
      for (int32_t v : tensor.int32_data()) AppendLittleEndian(v, 1, &out);
      break;
    case 4: case 5: case 10: case 16:
      for (int32_t v : tensor.int32_data()) AppendLittleEndian(v, 2, &out);
      break;
    case 6:
      for (int32_t v : tensor.int32_data()) AppendLittleEndian(v, 4, &out);
      break;
    case 7:
      for (int64_t v : tensor.int64_data()) AppendLittleEndian(v, 8, &out);
      break;
    case 11: case 15:
      for (double v : tensor.double_data()) AppendLittleEndian(v, 8, &out);
      break;
    case 12:
      for (uint64_t v : tensor.uint64_data()) AppendLittleEndian(v, 4, &out);
      break;
    case 13:
      for (uint64_t v : tensor.uint64_data()) AppendLittleEndian(v, 8, &out);
      break;
    default:
      break;
  }
  return out;
}

}  // namespace pq
