// Helpers for kernel tests: build a one-node model, run it through the
// executor, and make tensors from values.
#ifndef PQ_TESTS_EXEC_KERNEL_TEST_UTIL_H_
#define PQ_TESTS_EXEC_KERNEL_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq::testing {

// A tensor of `dtype` with `shape` holding `values` converted to T's type.
template <typename T>
Tensor MakeTensor(int32_t dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  Tensor t = Tensor::Allocate(dtype, std::move(shape)).value();
  for (size_t i = 0; i < values.size() && static_cast<int64_t>(i) < t.size(); ++i) {
    switch (dtype) {
      case kFloat: t.data<float>()[i] = static_cast<float>(values[i]); break;
      case kInt64: t.data<int64_t>()[i] = static_cast<int64_t>(values[i]); break;
      case kInt32: t.data<int32_t>()[i] = static_cast<int32_t>(values[i]); break;
      case kInt8: t.data<int8_t>()[i] = static_cast<int8_t>(values[i]); break;
      case kUint8: case kBool: t.data<uint8_t>()[i] = static_cast<uint8_t>(values[i]); break;
      case kInt16: t.data<int16_t>()[i] = static_cast<int16_t>(values[i]); break;
      case kUint16: t.data<uint16_t>()[i] = static_cast<uint16_t>(values[i]); break;
      case kUint32: t.data<uint32_t>()[i] = static_cast<uint32_t>(values[i]); break;
      case kUint64: t.data<uint64_t>()[i] = static_cast<uint64_t>(values[i]); break;
      default: break;
    }
  }
  return t;
}

inline Tensor Floats(std::vector<int64_t> shape, const std::vector<float>& values) {
  return MakeTensor<float>(kFloat, std::move(shape), values);
}
inline Tensor Int64s(std::vector<int64_t> shape, const std::vector<int64_t>& values) {
  return MakeTensor<int64_t>(kInt64, std::move(shape), values);
}

// The values of a tensor as doubles (any executor dtype).
std::vector<double> Values(const Tensor& t);

// One node to run: `inputs` are fed (name -> tensor), `constants` become
// initializers; `node` names its inputs/outputs; `opset` of ai.onnx (and of
// com.microsoft = 1 when `node` is in that domain).
struct OneNodeCase {
  onnx::NodeProto node;
  std::map<std::string, Tensor> inputs;
  std::map<std::string, Tensor> constants;
  // Initializers added as they are (e.g. packed types no Tensor holds).
  std::vector<onnx::TensorProto> raw_initializers;
  int64_t opset = 17;
  int threads = 0;  // executor threads; 0 = all cores
  int64_t max_loop_iterations = ExecutorOptions().max_loop_iterations;
};

// Runs the case and returns its outputs in node output order, or the error.
Result<std::vector<Tensor>> RunOneNode(const OneNodeCase& c);

// Builds a NodeProto: op type, inputs, outputs (attributes added by caller).
onnx::NodeProto MakeNode(const std::string& op_type, const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs, const std::string& domain = "");
void SetAttr(onnx::NodeProto* node, const std::string& name, int64_t value);
void SetAttr(onnx::NodeProto* node, const std::string& name, float value);
void SetAttr(onnx::NodeProto* node, const std::string& name, const std::string& value);
void SetAttr(onnx::NodeProto* node, const std::string& name, const std::vector<int64_t>& value);
void SetAttr(onnx::NodeProto* node, const std::string& name, const std::vector<float>& value);

}  // namespace pq::testing

#endif  // PQ_TESTS_EXEC_KERNEL_TEST_UTIL_H_
