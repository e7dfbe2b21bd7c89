// The 4-bit quantization tests' small model:
//   Y = Gemm(MatMul(X, W1), W2[, C]; transB = 1[, alpha = 0.5, beta = 2])
// X [batch, 40], W1 [40, 24] stored [K, N] (960 values: 15 blocks of 64, 30 of
// 32), W2 [10, 24] stored [N, K] (240 values: K = 24 leaves partial blocks),
// C [10]. Weights are fixed-seed random.
#ifndef PQ_TESTS_QUANT_TWO_LAYER_MODEL_H_
#define PQ_TESTS_QUANT_TWO_LAYER_MODEL_H_

#include <cstring>
#include <string>

#include "onnx/onnx_pb.h"
#include "testutil/model_builder.h"

namespace pq::testing {

// `bias_and_scales` adds C and Gemm's alpha/beta; a non-zero `poison` is
// written into W1's value 17 (e.g. NaN, for the refusal tests).
inline onnx::ModelProto TwoLayerModel(bool bias_and_scales, float poison = 0.0f) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  auto* g = model.mutable_graph();
  g->set_name("two_layer");
  *g->add_input() = FloatValueInfo("X", {-1, 40});
  *g->add_output() = FloatValueInfo("Y", {-1, 10});
  *g->add_initializer() = RandomFloatTensor("W1", {40, 24}, 7);
  *g->add_initializer() = RandomFloatTensor("W2", {10, 24}, 8);
  if (bias_and_scales) *g->add_initializer() = RandomFloatTensor("C", {10}, 9);
  if (poison != 0.0f) {
    std::string* raw = g->mutable_initializer(0)->mutable_raw_data();
    std::memcpy(raw->data() + 4 * 17, &poison, 4);
  }
  auto* mm = g->add_node();
  mm->set_op_type("MatMul");
  mm->set_name("mm");
  mm->add_input("X");
  mm->add_input("W1");
  mm->add_output("H");
  auto* gemm = g->add_node();
  gemm->set_op_type("Gemm");
  gemm->set_name("gemm");
  gemm->add_input("H");
  gemm->add_input("W2");
  if (bias_and_scales) gemm->add_input("C");
  gemm->add_output("Y");
  auto attr = [&](const char* name, float f, int64_t i, bool is_int) {
    auto* a = gemm->add_attribute();
    a->set_name(name);
    if (is_int) {
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(i);
    } else {
      a->set_type(onnx::AttributeProto::FLOAT);
      a->set_f(f);
    }
  };
  attr("transB", 0, 1, true);
  if (bias_and_scales) {
    attr("alpha", 0.5f, 0, false);
    attr("beta", 2.0f, 0, false);
  }
  return model;
}

}  // namespace pq::testing

#endif  // PQ_TESTS_QUANT_TWO_LAYER_MODEL_H_
