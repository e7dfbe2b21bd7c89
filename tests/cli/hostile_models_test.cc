// The hostile-input suite, part two (issue 22): models whose nodes get
// inputs or attributes their kernels cannot take, run through `pq run`. Each
// case checks exit 3, exactly one "pq: error:" line naming the node, no
// output file left and the inputs byte-for-byte unchanged.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/npy.h"
#include "pq/tensor.h"
#include "testutil/cli_expect.h"
#include "testutil/model_builder.h"
#include "testutil/refusal_expect.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::AddIntsAttr;
using testing::ExpectRefusedAndUntouched;
using testing::FloatTensor;
using testing::Int64Tensor;
using testing::kExitInvalidInput;
using testing::OneNodeModel;
using testing::TempDir;

// Samples in each data file: more than one, so a refusal on the first is
// not mistaken for the end of the data.
constexpr int64_t kSamples = 2;

// `count` floats 0.5, 1.0, 1.5, ...
std::vector<float> Ramp(int64_t count) {
  std::vector<float> v(static_cast<size_t>(count));
  for (size_t i = 0; i < v.size(); ++i) v[i] = 0.5f * static_cast<float>(i + 1);
  return v;
}

// Saves `model` as m.onnx and kSamples samples of X (shape `x_dims` each) as
// x.npy in `dir`, runs `pq run` and expects a refusal naming `fragment`.
void ExpectRunRefused(const onnx::ModelProto& model, const std::vector<int64_t>& x_dims,
                      const std::string& fragment) {
  TempDir dir;
  testing::SaveProto(model, dir.File("m.onnx"));
  std::vector<int64_t> data_dims = {kSamples};
  data_dims.insert(data_dims.end(), x_dims.begin(), x_dims.end());
  Tensor x = Tensor::Allocate(kFloat, data_dims).value();
  const std::vector<float> values = Ramp(x.size());
  for (int64_t i = 0; i < x.size(); ++i) x.data<float>()[i] = values[static_cast<size_t>(i)];
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(x));
  ExpectRefusedAndUntouched(
      dir, {"run", dir.File("m.onnx"), "--data", dir.File("x.npy"), "-o", dir.File("y.npz")},
      kExitInvalidInput, fragment);
}

onnx::NodeProto* Node(onnx::ModelProto* model) { return model->mutable_graph()->mutable_node(0); }

// --- rank 0 ---------------------------------------------------------------

TEST(HostileModelsTest, RankZeroInputToConvIsRefused) {
  // The fuzzer's crash (issue 22): X of rank 0 reached dims it does not have.
  onnx::ModelProto m = OneNodeModel("Conv", "conv", {"X", "W"}, {},
                                    {FloatTensor("W", {1, 1, 3, 3}, Ramp(9))});
  ExpectRunRefused(m, {}, "node 'conv' (Conv): X [] has rank 0");
}

TEST(HostileModelsTest, RankZeroInputToMatMulIsRefused) {
  onnx::ModelProto m =
      OneNodeModel("MatMul", "matmul", {"X", "W"}, {}, {FloatTensor("W", {4, 3}, Ramp(12))});
  ExpectRunRefused(m, {}, "node 'matmul' (MatMul)");
}

TEST(HostileModelsTest, RankZeroInputToMaxPoolIsRefused) {
  onnx::ModelProto m = OneNodeModel("MaxPool", "pool", {"X"}, {}, {});
  AddIntsAttr(Node(&m), "kernel_shape", {2, 2});
  ExpectRunRefused(m, {}, "node 'pool' (MaxPool)");
}

TEST(HostileModelsTest, RankZeroInputToAveragePoolIsRefused) {
  onnx::ModelProto m = OneNodeModel("AveragePool", "pool", {"X"}, {}, {});
  AddIntsAttr(Node(&m), "kernel_shape", {2, 2});
  ExpectRunRefused(m, {}, "node 'pool' (AveragePool)");
}

TEST(HostileModelsTest, RankZeroInputToGemmIsRefused) {
  onnx::ModelProto m =
      OneNodeModel("Gemm", "gemm", {"X", "W"}, {}, {FloatTensor("W", {4, 3}, Ramp(12))});
  ExpectRunRefused(m, {}, "node 'gemm' (Gemm)");
}

TEST(HostileModelsTest, RankZeroInputToSoftmaxAlongAxisOneIsRefused) {
  onnx::ModelProto m = OneNodeModel("Softmax", "softmax", {"X"}, {}, {});
  AddIntsAttr(Node(&m), "axis", {1}, /*single=*/true);
  ExpectRunRefused(m, {}, "node 'softmax' (Softmax)");
}

// --- attributes against the spatial rank ----------------------------------

TEST(HostileModelsTest, ConvKernelShapeLongerThanTheSpatialRankIsRefused) {
  onnx::ModelProto m = OneNodeModel("Conv", "conv", {"X", "W"}, {1, 1, 5, 5},
                                    {FloatTensor("W", {1, 1, 3, 3}, Ramp(9))});
  AddIntsAttr(Node(&m), "kernel_shape", {3, 3, 3});
  ExpectRunRefused(m, {1, 1, 5, 5}, "node 'conv' (Conv): kernel_shape");
}

TEST(HostileModelsTest, ConvStridesShorterThanTheSpatialRankAreRefused) {
  onnx::ModelProto m = OneNodeModel("Conv", "conv", {"X", "W"}, {1, 1, 5, 5},
                                    {FloatTensor("W", {1, 1, 3, 3}, Ramp(9))});
  AddIntsAttr(Node(&m), "strides", {1});
  ExpectRunRefused(m, {1, 1, 5, 5}, "node 'conv' (Conv): strides");
}

TEST(HostileModelsTest, ConvDilationsLongerThanTheSpatialRankAreRefused) {
  onnx::ModelProto m = OneNodeModel("Conv", "conv", {"X", "W"}, {1, 1, 5, 5},
                                    {FloatTensor("W", {1, 1, 3, 3}, Ramp(9))});
  AddIntsAttr(Node(&m), "dilations", {1, 1, 1, 1});
  ExpectRunRefused(m, {1, 1, 5, 5}, "node 'conv' (Conv)");
}

TEST(HostileModelsTest, MaxPoolPadsOfTheWrongLengthAreRefused) {
  onnx::ModelProto m = OneNodeModel("MaxPool", "pool", {"X"}, {1, 1, 6, 6}, {});
  AddIntsAttr(Node(&m), "kernel_shape", {2, 2});
  AddIntsAttr(Node(&m), "pads", {1, 1, 1});
  ExpectRunRefused(m, {1, 1, 6, 6}, "node 'pool' (MaxPool)");
}

TEST(HostileModelsTest, AveragePoolKernelShapeShorterThanTheSpatialRankIsRefused) {
  onnx::ModelProto m = OneNodeModel("AveragePool", "pool", {"X"}, {1, 1, 4, 6, 6}, {});
  AddIntsAttr(Node(&m), "kernel_shape", {2, 2});
  ExpectRunRefused(m, {1, 1, 4, 6, 6}, "node 'pool' (AveragePool): kernel_shape");
}

TEST(HostileModelsTest, ConvTransposeOutputPaddingLongerThanTheSpatialRankIsRefused) {
  onnx::ModelProto m = OneNodeModel("ConvTranspose", "deconv", {"X", "W"}, {1, 1, 4, 4},
                                    {FloatTensor("W", {1, 1, 2, 2}, Ramp(4))});
  AddIntsAttr(Node(&m), "output_padding", {0, 0, 0});
  ExpectRunRefused(m, {1, 1, 4, 4}, "node 'deconv' (ConvTranspose)");
}

// --- channels and groups -----------------------------------------------------

TEST(HostileModelsTest, ConvGroupThatDoesNotDivideTheChannelsIsRefused) {
  onnx::ModelProto m = OneNodeModel("Conv", "conv", {"X", "W"}, {1, 3, 5, 5},
                                    {FloatTensor("W", {2, 1, 3, 3}, Ramp(18))});
  AddIntsAttr(Node(&m), "group", {2}, /*single=*/true);
  ExpectRunRefused(m, {1, 3, 5, 5}, "node 'conv' (Conv): X has 3 channels");
}

TEST(HostileModelsTest, BatchNormalizationScaleOfTheWrongLengthIsRefused) {
  onnx::ModelProto m = OneNodeModel(
      "BatchNormalization", "bn", {"X", "scale", "B", "mean", "var"}, {1, 3, 4, 4},
      {FloatTensor("scale", {2}, Ramp(2)), FloatTensor("B", {3}, Ramp(3)),
       FloatTensor("mean", {3}, Ramp(3)), FloatTensor("var", {3}, Ramp(3))});
  ExpectRunRefused(m, {1, 3, 4, 4}, "node 'bn' (BatchNormalization)");
}

// --- indices and axes -------------------------------------------------------

TEST(HostileModelsTest, GatherIndexBeyondTheTableIsRefused) {
  onnx::ModelProto m = OneNodeModel("Gather", "gather", {"X", "idx"}, {4, 3},
                                    {Int64Tensor("idx", {2}, {1, 7})});
  ExpectRunRefused(m, {4, 3}, "node 'gather' (Gather): index 7 is out of range");
}

TEST(HostileModelsTest, GatherNegativeIndexBeyondTheTableIsRefused) {
  onnx::ModelProto m = OneNodeModel("Gather", "gather", {"X", "idx"}, {4, 3},
                                    {Int64Tensor("idx", {1}, {-5})});
  ExpectRunRefused(m, {4, 3}, "node 'gather' (Gather): index -5 is out of range");
}

TEST(HostileModelsTest, GatherElementsIndexBeyondTheAxisIsRefused) {
  onnx::ModelProto m = OneNodeModel("GatherElements", "gather", {"X", "idx"}, {2, 3},
                                    {Int64Tensor("idx", {2, 1}, {0, 3})});
  AddIntsAttr(Node(&m), "axis", {1}, /*single=*/true);
  ExpectRunRefused(m, {2, 3}, "node 'gather' (GatherElements)");
}

TEST(HostileModelsTest, ScatterElementsIndexBeyondTheAxisIsRefused) {
  onnx::ModelProto m = OneNodeModel("ScatterElements", "scatter", {"X", "idx", "upd"}, {2, 3},
                                    {Int64Tensor("idx", {1, 1}, {9}), FloatTensor("upd", {1, 1}, {1})});
  ExpectRunRefused(m, {2, 3}, "node 'scatter' (ScatterElements)");
}

TEST(HostileModelsTest, ConcatAlongAMissingAxisIsRefused) {
  onnx::ModelProto m =
      OneNodeModel("Concat", "concat", {"X", "C"}, {2, 3}, {FloatTensor("C", {2, 3}, Ramp(6))});
  AddIntsAttr(Node(&m), "axis", {2}, /*single=*/true);
  ExpectRunRefused(m, {2, 3}, "node 'concat' (Concat)");
}

TEST(HostileModelsTest, SoftmaxAxisBeyondTheRankIsRefused) {
  onnx::ModelProto m = OneNodeModel("Softmax", "softmax", {"X"}, {2, 3}, {});
  AddIntsAttr(Node(&m), "axis", {-3}, /*single=*/true);
  ExpectRunRefused(m, {2, 3}, "node 'softmax' (Softmax)");
}

TEST(HostileModelsTest, ReduceAxesBeyondTheRankAreRefused) {
  onnx::ModelProto m = OneNodeModel("ReduceSum", "reduce", {"X", "axes"}, {2, 3},
                                    {Int64Tensor("axes", {1}, {4})});
  ExpectRunRefused(m, {2, 3}, "node 'reduce' (ReduceSum)");
}

TEST(HostileModelsTest, TransposePermOfTheWrongLengthIsRefused) {
  onnx::ModelProto m = OneNodeModel("Transpose", "transpose", {"X"}, {2, 3, 4}, {});
  AddIntsAttr(Node(&m), "perm", {1, 0});
  ExpectRunRefused(m, {2, 3, 4}, "node 'transpose' (Transpose)");
}

TEST(HostileModelsTest, SliceAxesBeyondTheRankAreRefused) {
  onnx::ModelProto m = OneNodeModel(
      "Slice", "slice", {"X", "starts", "ends", "axes"}, {2, 3},
      {Int64Tensor("starts", {1}, {0}), Int64Tensor("ends", {1}, {1}), Int64Tensor("axes", {1}, {5})});
  ExpectRunRefused(m, {2, 3}, "node 'slice' (Slice)");
}

TEST(HostileModelsTest, TopKLargerThanTheAxisIsRefused) {
  onnx::ModelProto m =
      OneNodeModel("TopK", "topk", {"X", "k"}, {2, 3}, {Int64Tensor("k", {1}, {5})});
  ExpectRunRefused(m, {2, 3}, "node 'topk' (TopK)");
}

// --- shapes -----------------------------------------------------------------

TEST(HostileModelsTest, ReshapeToAShapeThatDoesNotFitIsRefused) {
  onnx::ModelProto m = OneNodeModel("Reshape", "reshape", {"X", "shape"}, {2, 3},
                                    {Int64Tensor("shape", {2}, {4, 4})});
  ExpectRunRefused(m, {2, 3}, "node 'reshape' (Reshape)");
}

TEST(HostileModelsTest, ReshapeWithTwoInferredDimsIsRefused) {
  onnx::ModelProto m = OneNodeModel("Reshape", "reshape", {"X", "shape"}, {2, 3},
                                    {Int64Tensor("shape", {2}, {-1, -1})});
  ExpectRunRefused(m, {2, 3}, "node 'reshape' (Reshape)");
}

TEST(HostileModelsTest, ExpandToAnIncompatibleShapeIsRefused) {
  onnx::ModelProto m = OneNodeModel("Expand", "expand", {"X", "shape"}, {2, 3},
                                    {Int64Tensor("shape", {2}, {2, 4})});
  ExpectRunRefused(m, {2, 3}, "node 'expand' (Expand)");
}

TEST(HostileModelsTest, SplitSizesThatDoNotSumToTheAxisAreRefused) {
  onnx::ModelProto m =
      OneNodeModel("Split", "split", {"X", "sizes"}, {2, 6}, {Int64Tensor("sizes", {2}, {2, 7})});
  AddIntsAttr(Node(&m), "axis", {1}, /*single=*/true);
  ExpectRunRefused(m, {2, 6}, "node 'split' (Split)");
}

TEST(HostileModelsTest, MatMulInnerDimsThatDifferAreRefused) {
  onnx::ModelProto m =
      OneNodeModel("MatMul", "matmul", {"X", "W"}, {2, 5}, {FloatTensor("W", {4, 3}, Ramp(12))});
  ExpectRunRefused(m, {2, 5}, "node 'matmul' (MatMul)");
}

TEST(HostileModelsTest, PadWithPadsOfTheWrongLengthIsRefused) {
  onnx::ModelProto m =
      OneNodeModel("Pad", "pad", {"X", "pads"}, {2, 3}, {Int64Tensor("pads", {3}, {1, 1, 1})});
  ExpectRunRefused(m, {2, 3}, "node 'pad' (Pad)");
}

TEST(HostileModelsTest, ResizeScalesOfTheWrongLengthAreRefused) {
  onnx::ModelProto m = OneNodeModel("Resize", "resize", {"X", "", "scales"}, {1, 1, 4, 4},
                                    {FloatTensor("scales", {3}, {1, 2, 2})});
  ExpectRunRefused(m, {1, 1, 4, 4}, "node 'resize' (Resize)");
}

TEST(HostileModelsTest, EinsumEquationOfTheWrongRankIsRefused) {
  onnx::ModelProto m = OneNodeModel("Einsum", "einsum", {"X"}, {2, 3}, {});
  auto* eq = Node(&m)->add_attribute();
  eq->set_name("equation");
  eq->set_type(onnx::AttributeProto::STRING);
  eq->set_s("ijk->i");
  ExpectRunRefused(m, {2, 3}, "node 'einsum' (Einsum)");
}

TEST(HostileModelsTest, UnnamedNodeIsNamedByItsOutput) {
  onnx::ModelProto m = OneNodeModel("Conv", "", {"X", "W"}, {},
                                    {FloatTensor("W", {1, 1, 3, 3}, Ramp(9))});
  ExpectRunRefused(m, {}, "unnamed node (Conv) producing 'Y'");
}

// --- data -------------------------------------------------------------------

TEST(HostileModelsTest, DataWithAZeroSizedBatchIsRefused) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  Tensor x = Tensor::Allocate(kFloat, {0, 4}).value();
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(x));
  ExpectRefusedAndUntouched(
      dir, {"run", dir.File("m.onnx"), "--data", dir.File("x.npy"), "-o", dir.File("y.npz")},
      kExitInvalidInput, "holds no samples");
  ExpectRefusedAndUntouched(dir,
                            {"quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"), "--calib",
                             dir.File("x.npy")},
                            kExitInvalidInput, "holds no samples");
}

}  // namespace
}  // namespace pq
