// Shared fixtures of the quantizer-stage tests (prepare, calibrate, decide,
// write, activation statistics, quantize job): a small static-INT8 model,
// its calibration data written as .npy, and lookups in a written model.
#ifndef PQ_TESTS_QUANT_STAGE_FIXTURES_H_
#define PQ_TESTS_QUANT_STAGE_FIXTURES_H_

#include <cmath>
#include <cstring>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"
#include "onnx/onnx_pb.h"
#include "pq/model.h"
#include "pq/npy.h"
#include "testutil/graph_builder.h"
#include "testutil/temp_dir.h"

namespace pq::testing {

// X[batch,2,4,4] -> Conv(Wc, Bc) -> C -> Relu -> R -> Flatten -> F[batch,48]
//   -> MatMul(Wm[48,5]) -> M -> Gemm(Wg[4,5], Bg; transB) -> Y[batch,4]
// Static int8 plans X, R, M as owners; C and F share R's parameters.
// `poison` (when not 0) replaces Wm's value 7 (e.g. NaN).
inline onnx::ModelProto ConvMlpProto(int64_t opset = 13, float poison = 0.0f) {
  GraphBuilder b(opset);
  b.Input("X", {-1, 2, 4, 4}).Output("Y", {-1, 4});
  b.Weight("Wc", {3, 2, 1, 1}, 1).Weight("Bc", {3}, 2).Weight("Wm", {48, 5}, 3);
  b.Weight("Wg", {4, 5}, 4).Weight("Bg", {4}, 5);
  if (poison != 0.0f) {
    std::string* raw = b.graph()->mutable_initializer(2)->mutable_raw_data();
    std::memcpy(raw->data() + 4 * 7, &poison, 4);
  }
  b.Node("Conv", {"X", "Wc", "Bc"}, {"C"});
  b.Node("Relu", {"C"}, {"R"});
  b.Node("Flatten", {"R"}, {"F"});
  b.Node("MatMul", {"F", "Wm"}, {"M"});
  GraphBuilder::IntAttr(b.Node("Gemm", {"M", "Wg", "Bg"}, {"Y"}), "transB", 1);
  return b.proto();
}

inline std::unique_ptr<Model> ModelOf(const onnx::ModelProto& proto, const std::string& origin = "test.onnx") {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", origin);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(model).value() : nullptr;
}

// `samples` inputs for ConvMlpProto: a sine of period ~17 values, scaled by
// `gain` and shifted by `offset` (so two files can hold different extremes).
inline void WriteConvMlpCalibration(const std::string& path, int64_t samples, float gain, float offset) {
  std::vector<float> values(static_cast<size_t>(samples * 2 * 4 * 4));
  for (size_t i = 0; i < values.size(); ++i) {
    values[i] = gain * std::sin(0.37f * static_cast<float>(i)) + offset;
  }
  WriteFile(path, EncodeNpy(Floats({samples, 2, 4, 4}, values)));
}

// Whether `name` is an initializer or a node output of `model`'s main graph.
inline bool ModelHasTensor(const Model& model, const std::string& name) {
  const onnx::GraphProto& g = model.proto().graph();
  for (const auto& init : g.initializer()) {
    if (init.name() == name) return true;
  }
  for (const auto& node : g.node()) {
    for (const auto& out : node.output()) {
      if (out == name) return true;
    }
  }
  return false;
}

inline int CountOpType(const Model& model, const std::string& op) {
  int n = 0;
  for (const auto& node : model.proto().graph().node()) n += node.op_type() == op;
  return n;
}

inline bool Mentions(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace pq::testing

#endif  // PQ_TESTS_QUANT_STAGE_FIXTURES_H_
