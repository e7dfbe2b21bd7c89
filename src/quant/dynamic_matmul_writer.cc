// The kDynamicMatMul row of the constant-writer table: int8 weights that a
// MatMulInteger reads, with activations quantized at run time:
//
//   A -> DynamicQuantizeLinear -> (A_q uint8, A_scale, A_zero_point)
//   MatMulInteger(A_q, W_int8 [K, N], A_zero_point, W_zero_point) -> int32
//   Cast(to float) -> Mul(A_scale x W_scale) -> [Gemm: x alpha, + beta C] -> Y
//
// the form ONNX Runtime's quantize_dynamic writes and its graph optimizer
// fuses into DynamicQuantizeMatMul. A float16 or bfloat16 product has A cast
// to float32 before DynamicQuantizeLinear and Y cast back after the Mul.

#include "pq/data_type.h"
#include "pq/model.h"
#include "quant/constant_writers.h"
#include "quant/matmul_replace.h"
#include "quant/proto_build.h"

namespace pq::quant {
namespace {

// The int8 bytes of `c` as MatMulInteger's B, [K, N]: the constant as is
// (axis 1 or per tensor), or transposed from [N, K] (Gemm transB = 1, axis 0).
std::string WeightAsKn(const ConstantRewrite& c, int64_t* k, int64_t* n) {
  const bool nk = c.params.axis == 0;
  *k = nk ? c.shape[1] : c.shape[0];
  *n = nk ? c.shape[0] : c.shape[1];
  if (!nk) return c.data;
  std::string out(c.data.size(), '\0');
  for (int64_t row = 0; row < *n; ++row) {
    for (int64_t col = 0; col < *k; ++col) out[col * *n + row] = c.data[row * *k + col];
  }
  return out;
}

// Replaces `node` (reading the weight as input 1) by the dynamic product.
// A float16 or bfloat16 product (`float_type`) is computed in float32
// between two Casts (DynamicQuantizeLinear takes float32 only): A is cast to
// float32 and the product back to A's type, so the node's output keeps it.
void ReplaceConsumer(const onnx::NodeProto& node, const WrittenNames& w, const std::string& base,
                     int32_t float_type, const WriteTarget& target, std::vector<onnx::NodeProto>* out,
                     std::string* product_node) {
  NodeList list(target.names, base, out);
  const bool narrow = float_type != kFloat;
  std::string a = node.input(0);
  if (narrow) {
    onnx::NodeProto* widen = list.Add("Cast", {a});
    SetInt(widen, "to", kFloat);
    a = widen->output(0);
  }
  onnx::NodeProto* dql = list.Add("DynamicQuantizeLinear", {a});
  const std::string a_q = dql->output(0);
  const std::string a_scale = list.Fresh("a_scale");
  const std::string a_zero_point = list.Fresh("a_zero_point");
  dql->add_output(a_scale);
  dql->add_output(a_zero_point);
  onnx::NodeProto* mmi = list.Add("MatMulInteger", {a_q, w.quantized, a_zero_point, w.zero_point});
  *product_node = mmi->name();
  const std::string product = mmi->output(0);
  onnx::NodeProto* cast = list.Add("Cast", {product});
  SetInt(cast, "to", kFloat);
  const std::string as_float = cast->output(0);
  const std::string scale = list.Add("Mul", {a_scale, w.scale})->output(0);
  const std::string out_name = NeedsGemmTail(node) ? std::string() : node.output(0);
  std::string y = list.Add("Mul", {as_float, scale}, narrow ? "" : out_name)->output(0);
  if (narrow) {
    onnx::NodeProto* back = list.Add("Cast", {y}, out_name);
    SetInt(back, "to", float_type);
    y = back->output(0);
  }
  AddGemmTail(node, y, float_type, target.model->mutable_graph(), target.names, target.blockwise, &list);
}

}  // namespace

Status WriteDynamicMatMul(ConstantRewrite& c, const WriteTarget& target, WrittenNames* w) {
  onnx::GraphProto* graph = target.model->mutable_graph();
  const int64_t opset = OpsetVersionOf(*target.model, "");
  if (opset < kDynamicQuantizeOpset) {
    return Status::NotSupported("int8-dynamic needs default-domain opset " + std::to_string(kDynamicQuantizeOpset) +
                                " (DynamicQuantizeLinear); the model has " + std::to_string(opset));
  }
  if (c.shape.size() != 2 || c.params.dtype != kInt8) {
    return Status::Internal("dynamic writer: '" + c.tensor + "' is not a 2-D int8 weight");
  }
  int64_t k = 0, n = 0;
  std::string kn = WeightAsKn(c, &k, &n);
  const bool per_channel = c.params.axis >= 0;
  const std::vector<int64_t> param_dims = per_channel ? std::vector<int64_t>{n} : std::vector<int64_t>{};
  w->quantized = target.names->Make(c.tensor + "_int8");
  w->scale = target.names->Make(c.tensor + "_scale");
  w->zero_point = target.names->Make(c.tensor + "_zero_point");
  *graph->add_initializer() = Initializer(w->quantized, kInt8, {k, n}, std::move(kn));
  *graph->add_initializer() = Initializer(w->scale, kFloat, param_dims, RawBytes(c.params.scale));
  *graph->add_initializer() =
      Initializer(w->zero_point, kInt8, param_dims, std::string(c.params.zero_point.size(), '\0'));
  for (const Use& use : c.uses) {
    const onnx::NodeProto& node = graph->node(use.first);
    PQ_RETURN_IF_ERROR(CheckReplaceableMatMul(node, use.second, "a dynamic int8 MatMul"));
    std::string product_node;
    ReplaceConsumer(node, *w, node.name().empty() ? c.tensor : node.name(), c.float_type, target,
                    &target.blockwise->replace[use.first], &product_node);
    w->nodes.push_back(product_node);
  }
  return Status::OK();
}

}  // namespace pq::quant
