#include "quant/qdq_nodes.h"

#include <cstring>
#include <type_traits>
#include <utility>

#include "pq/data_type.h"
#include "quant/float_type.h"
#include "quant/proto_build.h"

namespace pq::quant {
namespace {

// `values` as a 1-D tensor (or a scalar) of `dtype`, little-endian, each
// value in `elem_bytes` bytes.
template <typename T>
onnx::TensorProto VectorTensor(const std::string& name, int32_t dtype, const std::vector<T>& values,
                               bool scalar, int elem_bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  if (!scalar) t.add_dims(static_cast<int64_t>(values.size()));
  std::string raw;
  raw.reserve(values.size() * static_cast<size_t>(elem_bytes));
  for (const T& v : values) {
    const int64_t wide = static_cast<int64_t>(v);
    if constexpr (std::is_same_v<T, float>) {
      char bytes[4];
      std::memcpy(bytes, &v, 4);
      raw.append(bytes, 4);
    } else {
      for (int b = 0; b < elem_bytes; ++b) raw.push_back(static_cast<char>((wide >> (8 * b)) & 0xff));
    }
  }
  t.set_raw_data(raw);
  return t;
}

// Bytes per element of an 8-, 16- or 32-bit integer dtype (the traits table).
int ElementBytes(int32_t dtype) {
  const DataTypeTraits* traits = FindDataTypeTraits(dtype);
  return traits != nullptr && traits->bits >= 8 ? traits->bits / 8 : 1;
}

void AddIntAttribute(onnx::NodeProto* node, const char* name, int64_t value) {
  auto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

}  // namespace

void AddQdqParams(onnx::GraphProto* graph, NameAllocator* names, const std::string& base,
                  const QuantParams& params, int32_t float_type, WrittenNames* written) {
  const bool scalar = params.axis < 0;
  written->scale = names->Make(base + "_scale");
  written->zero_point = names->Make(base + "_zero_point");
  if (float_type == kFloat) {
    *graph->add_initializer() = VectorTensor<float>(written->scale, kFloat, params.scale, scalar, 4);
  } else {
    onnx::TensorProto scale = Initializer(written->scale, float_type, {}, FloatRaw(params.scale, float_type));
    if (!scalar) scale.add_dims(static_cast<int64_t>(params.scale.size()));
    *graph->add_initializer() = std::move(scale);
  }
  *graph->add_initializer() = VectorTensor<int64_t>(written->zero_point, params.dtype, params.zero_point,
                                                    scalar, ElementBytes(params.dtype));
}

onnx::NodeProto MakeQdqNode(const std::string& op, const std::string& name,
                            const std::vector<std::string>& inputs, const std::string& output,
                            const QuantParams& params) {
  onnx::NodeProto node;
  node.set_op_type(op);
  node.set_name(name);
  for (const auto& in : inputs) node.add_input(in);
  node.add_output(output);
  if (params.axis >= 0) AddIntAttribute(&node, "axis", params.axis);
  if (params.block_size > 0) AddIntAttribute(&node, "block_size", params.block_size);
  return node;
}

}  // namespace pq::quant
