// Builds small ONNX models in memory for tests.
#ifndef PQ_TESTS_TESTUTIL_MODEL_BUILDER_H_
#define PQ_TESTS_TESTUTIL_MODEL_BUILDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace pq::testing {

// A float tensor with raw_data holding `values` (little-endian).
onnx::TensorProto FloatTensor(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<float>& values);

// A fixed-seed float tensor of `dims` with values in [-1, 1).
onnx::TensorProto RandomFloatTensor(const std::string& name, const std::vector<int64_t>& dims,
                                    uint32_t seed);

// A float graph input/output with `dims` (a negative dim becomes the symbolic
// dim "batch").
onnx::ValueInfoProto FloatValueInfo(const std::string& name, const std::vector<int64_t>& dims);

// A model Y = MatMul(X, W) + B with W [4, 3] and B [3] as initializers,
// X [batch, 4], opset `opset`, ir_version `ir_version`.
onnx::ModelProto TinyMatMulModel(int64_t opset = 13, int64_t ir_version = 8);

// The same model with W and B held in Constant nodes instead of initializers.
onnx::ModelProto TinyConstantNodeModel();

// Serializes `model` to `path`.
void SaveProto(const onnx::ModelProto& model, const std::string& path);

}  // namespace pq::testing

#endif  // PQ_TESTS_TESTUTIL_MODEL_BUILDER_H_
