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

// An int64 tensor (indices, shapes, axes) with raw_data holding `values`.
onnx::TensorProto Int64Tensor(const std::string& name, const std::vector<int64_t>& dims,
                              const std::vector<int64_t>& values);

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

// A model of one node: `op` named `node_name` reads `inputs`, of which "X"
// is the float graph input of shape `x_dims` and every other name one of
// `initializers`; it writes the graph output "Y". Attributes are added by the
// caller to model.graph().node(0).
onnx::ModelProto OneNodeModel(const std::string& op, const std::string& node_name,
                              const std::vector<std::string>& inputs,
                              const std::vector<int64_t>& x_dims,
                              const std::vector<onnx::TensorProto>& initializers,
                              int64_t opset = 17);

// Adds an INTS attribute (or, with `single`, an INT attribute holding
// values[0]) to `node`.
void AddIntsAttr(onnx::NodeProto* node, const std::string& name,
                 const std::vector<int64_t>& values, bool single = false);

// Serializes `model` to `path`.
void SaveProto(const onnx::ModelProto& model, const std::string& path);

}  // namespace pq::testing

#endif  // PQ_TESTS_TESTUTIL_MODEL_BUILDER_H_
