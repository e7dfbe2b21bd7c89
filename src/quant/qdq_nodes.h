// The pieces of ONNX's QDQ form that the writers share: scale and
// zero-point initializers, and QuantizeLinear/DequantizeLinear nodes.
#ifndef PQ_QUANT_QDQ_NODES_H_
#define PQ_QUANT_QDQ_NODES_H_

#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/quant_params.h"
#include "quant/name_allocator.h"
#include "quant/qdq_writer.h"

namespace pq::quant {

// Adds `base`_scale (of `float_type`: float, float16 or bfloat16) and
// `base`_zero_point (params.dtype) initializers holding `params` (scalars
// when params.axis < 0, else 1-D) to `graph`, and names them in `written`.
void AddQdqParams(onnx::GraphProto* graph, NameAllocator* names, const std::string& base,
                  const QuantParams& params, int32_t float_type, WrittenNames* written);

// A QuantizeLinear or DequantizeLinear node (`op`) with params' axis and
// block_size attributes when set.
onnx::NodeProto MakeQdqNode(const std::string& op, const std::string& name,
                            const std::vector<std::string>& inputs, const std::string& output,
                            const QuantParams& params);

}  // namespace pq::quant

#endif  // PQ_QUANT_QDQ_NODES_H_
