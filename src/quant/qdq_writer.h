// QDQ writer: rewrites an FP32 model into ONNX's QDQ form from a plan whose
// numbers were decided elsewhere. Weights become quantized initializers
// feeding DequantizeLinear; activations get QuantizeLinear -> DequantizeLinear
// pairs whose output the chosen consumers read. The writer never decides a
// number: it writes exactly the parameters it is given.
#ifndef PQ_QUANT_QDQ_WRITER_H_
#define PQ_QUANT_QDQ_WRITER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pq/data_type.h"
#include "pq/quant_params.h"
#include "pq/status.h"
#include "quant/scheme.h"

namespace onnx {
class ModelProto;
}

namespace pq::quant {

// A use of a value: input `input` of main-graph node `node` (by index).
using Use = std::pair<int, int>;

// A constant (weight or bias) to store quantized.
struct ConstantRewrite {
  std::string tensor;             // the FP32 constant (initializer or Constant output)
  std::vector<int64_t> shape;
  QuantParams params;
  std::string data;               // packed values of params.dtype
  std::vector<Use> uses;          // inputs to rewire to the dequantized value
  // Other encodings (see blockwise_writer.h): `blockwise` holds what to
  // store; `transposed`: the FP32 constant is [K, N], `blockwise` [N, K].
  WeightEncoding encoding = WeightEncoding::kDequantizeLinear;
  std::optional<BlockwisePacked> blockwise;
  bool transposed = false;
  // kMatMulNBits: the accuracy_level attribute to write (-1 = none).
  int64_t accuracy_level = -1;
  // The constant's float type (float, float16 or bfloat16): the type of
  // the scales and of the dequantized value the consumers read.
  int32_t float_type = kFloat;
};

// An activation to pass through QuantizeLinear -> DequantizeLinear.
struct ActivationRewrite {
  std::string tensor;
  QuantParams params;             // per-tensor
  std::vector<Use> uses;          // inputs to rewire to the dequantized value
  int32_t float_type = kFloat;    // the activation's float type: its scale's
};

struct QdqPlan {
  std::vector<ConstantRewrite> constants;
  std::vector<ActivationRewrite> activations;
};

// The names the writer gave to what it added for one tensor.
struct WrittenNames {
  std::string tensor;       // the FP32 tensor
  std::string quantized;    // quantized initializer, or the QuantizeLinear output
  std::string scale;
  std::string zero_point;
  std::string dequantized;  // the DequantizeLinear output consumers now read
  // Fused 4-bit encodings: the nodes that replaced the consumers ("" else).
  std::vector<std::string> nodes;
  // Double-quantized scales: `scale` holds their int8 codes, these the
  // per-block scales and the offset.
  std::string scale_scales, scale_offset;
};

// Returns `model` rewritten by `plan`. FP32 constants left without a use are
// removed (initializers, their graph-input entries, and Constant nodes).
// Node order stays topological. `written` receives one entry per rewrite,
// constants first, in plan order.
Result<std::unique_ptr<onnx::ModelProto>> WriteQdq(const onnx::ModelProto& model,
                                                    QdqPlan plan,
                                                    std::vector<WrittenNames>* written);

}  // namespace pq::quant

#endif  // PQ_QUANT_QDQ_WRITER_H_
