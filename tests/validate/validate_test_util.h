// Models and data for the validation tests: a three-class linear model, the
// sample CNN with one planted sensitive layer, and subsets of the sample
// validation set written as .npy files.
#ifndef PQ_TESTS_VALIDATE_VALIDATE_TEST_UTIL_H_
#define PQ_TESTS_VALIDATE_VALIDATE_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace pq::testing {

// The CNN node whose weights PlantedCnn() makes sensitive.
inline constexpr const char* kPlantedNode = "/fc2/Gemm";

// Y = MatMul(X, W): X [batch, 3], W [3, 3] (row-major `w`), Y [batch, 3].
onnx::ModelProto ThreeClassModel(const std::vector<float>& w);

// models/fashion_cnn.onnx with fc1's unit 0 switched off (zero weights,
// bias -1, so the Relu after it always gives 0) and fc2's weights from that
// unit set to an extreme outlier. The FP32 function is unchanged by the
// outlier (its input is always 0), but int8 weights of fc2, per channel or
// per tensor, round every other weight to 0.
onnx::ModelProto PlantedCnn();

// Writes float32 [rows, cols] values as .npy.
void WriteFloatNpy(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<float>& values);
// Writes int64 [n] values as .npy.
void WriteLabelsNpy(const std::string& path, const std::vector<int64_t>& labels);
// Writes int64 values of any shape as .npy (e.g. token ids [rows, tokens]).
void WriteInt64Npy(const std::string& path, const std::vector<int64_t>& shape,
                   const std::vector<int64_t>& values);

// Writes the first `count` images and labels of models/val_images.npy and
// val_labels.npy to `images` and `labels`.
void WriteValidationSubset(int64_t count, const std::string& images, const std::string& labels);

// Reads an ONNX model file.
onnx::ModelProto LoadProto(const std::string& path);

// The float values of an initializer held in raw_data; and replacing them.
std::vector<float> InitializerFloats(const onnx::TensorProto& t);
void SetInitializerFloats(onnx::TensorProto* t, const std::vector<float>& values);

}  // namespace pq::testing

#endif  // PQ_TESTS_VALIDATE_VALIDATE_TEST_UTIL_H_
