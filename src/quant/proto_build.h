// Builders for the small protos the quantized-model writers add.
#ifndef PQ_QUANT_PROTO_BUILD_H_
#define PQ_QUANT_PROTO_BUILD_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "onnx/onnx_pb.h"

namespace pq::quant {

// The bytes of `values` as raw_data (little-endian on the hosts pq runs on).
template <typename T>
std::string RawBytes(const std::vector<T>& values) {
  std::string raw(values.size() * sizeof(T), '\0');
  if (!values.empty()) std::memcpy(raw.data(), values.data(), raw.size());
  return raw;
}

// A tensor `name` of ONNX type `dtype` and shape `dims` holding `raw` as its
// raw_data (already in the type's little-endian / packed layout).
inline onnx::TensorProto Initializer(const std::string& name, int32_t dtype,
                                     const std::vector<int64_t>& dims, std::string raw) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::move(raw));
  return t;
}

// Adds the INT attribute `name` = `value` to `node`.
inline void SetInt(onnx::NodeProto* node, const char* name, int64_t value) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

}  // namespace pq::quant

#endif  // PQ_QUANT_PROTO_BUILD_H_
