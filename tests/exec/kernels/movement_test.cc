// Tests of src/exec/kernels/movement.cc (beyond ONNX's conformance cases):
// the optimised Transpose paths against a naive reference, opset-dependent
// forms, dtypes other than float, and errors that must come back as a
// Status instead of a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <numeric>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs `node` on `inputs` (fed) and `constants` (initializers) at `opset`.
Result<std::vector<Tensor>> RunNode(const onnx::NodeProto& node,
                                    std::map<std::string, Tensor> inputs,
                                    std::map<std::string, Tensor> constants, int64_t opset) {
  OneNodeCase c;
  c.node = node;
  c.inputs = std::move(inputs);
  c.constants = std::move(constants);
  c.opset = opset;
  return RunOneNode(c);
}

// An int32 tensor holding 0, 1, 2, ... in row-major order.
Tensor Iota(const std::vector<int64_t>& shape) {
  Tensor t = Tensor::Allocate(kInt32, shape).value();
  std::iota(t.data<int32_t>(), t.data<int32_t>() + t.size(), 0);
  return t;
}

// The naive transpose: walks output indices and computes each source offset.
std::vector<double> NaiveTranspose(const std::vector<int64_t>& shape,
                                   const std::vector<int64_t>& perm) {
  const size_t rank = shape.size();
  std::vector<int64_t> strides(rank, 1), out_shape(rank), index(rank, 0);
  for (size_t i = rank; i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  for (size_t i = 0; i < rank; ++i) out_shape[i] = shape[static_cast<size_t>(perm[i])];
  int64_t total = 1;
  for (int64_t d : shape) total *= d;
  std::vector<double> out;
  for (int64_t n = 0; n < total; ++n) {
    int64_t offset = 0;
    for (size_t i = 0; i < rank; ++i) offset += index[i] * strides[static_cast<size_t>(perm[i])];
    out.push_back(static_cast<double>(offset));
    for (size_t i = rank; i-- > 0;) {
      if (++index[i] < out_shape[i]) break;
      index[i] = 0;
    }
  }
  return out;
}

TEST(MovementTranspose, EveryPermutationMatchesTheNaiveReference) {
  const std::vector<std::vector<int64_t>> shapes = {
      {5}, {67, 45}, {3, 4, 5}, {2, 33, 7, 40}, {2, 3, 1, 4, 3}};
  for (const auto& shape : shapes) {
    std::vector<int64_t> perm(shape.size());
    std::iota(perm.begin(), perm.end(), 0);
    do {
      onnx::NodeProto node = MakeNode("Transpose", {"x"}, {"y"});
      SetAttr(&node, "perm", perm);
      auto out = RunNode(node, {{"x", Iota(shape)}}, {}, 13);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_EQ(Values(out.value()[0]), NaiveTranspose(shape, perm))
          << ShapeToString(shape) << " perm " << ShapeToString(perm);
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST(MovementTranspose, BadPermIsAnError) {
  onnx::NodeProto node = MakeNode("Transpose", {"x"}, {"y"});
  SetAttr(&node, "perm", std::vector<int64_t>{0, 0});
  auto out = RunNode(node, {{"x", Floats({2, 3}, {})}}, {}, 13);
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(Contains(out.status().message(), "permutation")) << out.status().message();
}

TEST(MovementSlice, Opset9AttributesClampEnds) {
  onnx::NodeProto node = MakeNode("Slice", {"x"}, {"y"});
  SetAttr(&node, "starts", std::vector<int64_t>{1, -2});
  SetAttr(&node, "ends", std::vector<int64_t>{1000, 1000});
  SetAttr(&node, "axes", std::vector<int64_t>{0, 1});
  auto out = RunNode(node, {{"x", Iota({3, 4})}}, {}, 9);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{6, 7, 10, 11}));
}

TEST(MovementSlice, NegativeStepsClampAsTheSpecSays) {
  // starts past the end clamp to dim - 1; ends before the start clamp to -1.
  auto out = RunNode(MakeNode("Slice", {"x", "s", "e", "a", "t"}, {"y"}), {{"x", Iota({10})}},
                     {{"s", Int64s({1}, {100})}, {"e", Int64s({1}, {-100})},
                      {"a", Int64s({1}, {0})}, {"t", Int64s({1}, {-3})}},
                     13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{9, 6, 3, 0}));
}

TEST(MovementSlice, ExtremeStartsEndsAndStepsDoNotOverflow) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  auto out = RunNode(MakeNode("Slice", {"x", "s", "e", "a", "t"}, {"y"}), {{"x", Iota({10})}},
                     {{"s", Int64s({1}, {kMax})}, {"e", Int64s({1}, {kMin})},
                      {"a", Int64s({1}, {0})}, {"t", Int64s({1}, {kMin})}},
                     13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{9}));
}

TEST(MovementSplit, AttributeBeforeOpset13InputFrom13AndUnevenAt18) {
  const Tensor x = Int64s({7}, {0, 1, 2, 3, 4, 5, 6});
  onnx::NodeProto old_node = MakeNode("Split", {"x"}, {"a", "b"});
  SetAttr(&old_node, "split", std::vector<int64_t>{3, 4});
  auto old = RunNode(old_node, {{"x", x}}, {}, 11);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(Values(old.value()[1]), (std::vector<double>{3, 4, 5, 6}));

  auto now = RunNode(MakeNode("Split", {"x", "s"}, {"a", "b"}), {{"x", x}},
                     {{"s", Int64s({2}, {5, 2})}}, 13);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(Values(now.value()[1]), (std::vector<double>{5, 6}));

  onnx::NodeProto uneven = MakeNode("Split", {"x"}, {"a", "b", "c"});
  SetAttr(&uneven, "num_outputs", int64_t{3});
  auto v18 = RunNode(uneven, {{"x", x}}, {}, 18);
  ASSERT_TRUE(v18.ok()) << v18.status().ToString();
  EXPECT_EQ(v18.value()[0].shape(), (std::vector<int64_t>{3}));
  EXPECT_EQ(Values(v18.value()[2]), (std::vector<double>{6}));

  // Before opset 18 an equal split must divide the dim.
  auto v13 = RunNode(MakeNode("Split", {"x"}, {"a", "b", "c"}), {{"x", x}}, {}, 13);
  EXPECT_FALSE(v13.ok());
}

TEST(MovementGather, NegativeIndicesAndOutOfRangeError) {
  const Tensor data = MakeTensor<int>(kUint8, {3, 2}, {1, 2, 3, 4, 5, 6});
  auto out = RunNode(MakeNode("Gather", {"d", "i"}, {"y"}), {{"d", data}},
                     {{"i", Int64s({2}, {-1, 0})}}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{5, 6, 1, 2}));

  auto bad = RunNode(MakeNode("Gather", {"d", "i"}, {"y"}), {{"d", data}},
                     {{"i", Int64s({2}, {0, 5})}}, 13);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(Contains(bad.status().message(), "index 5")) << bad.status().message();
}

TEST(MovementGatherElements, OutOfRangeIndexIsAnError) {
  auto bad = RunNode(MakeNode("GatherElements", {"d", "i"}, {"y"}), {{"d", Floats({2, 2}, {})}},
                     {{"i", Int64s({2, 1}, {0, -3})}}, 13);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "index -3")) << bad.status().message();
}

TEST(MovementConcatTile, BoolAndInt64) {
  const Tensor a = MakeTensor<int>(kBool, {1, 2}, {1, 0});
  const Tensor b = MakeTensor<int>(kBool, {1, 1}, {1});
  onnx::NodeProto concat = MakeNode("Concat", {"a", "b"}, {"y"});
  SetAttr(&concat, "axis", int64_t{-1});
  auto out = RunNode(concat, {{"a", a}, {"b", b}}, {}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].dtype(), kBool);
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{1, 0, 1}));

  auto tiled = RunNode(MakeNode("Tile", {"x", "r"}, {"y"}), {{"x", Int64s({2}, {7, -8})}},
                       {{"r", Int64s({1}, {3})}}, 13);
  ASSERT_TRUE(tiled.ok()) << tiled.status().ToString();
  EXPECT_EQ(Values(tiled.value()[0]), (std::vector<double>{7, -8, 7, -8, 7, -8}));

  auto overflow = RunNode(MakeNode("Tile", {"x", "r"}, {"y"}), {{"x", Int64s({2}, {7, -8})}},
                          {{"r", Int64s({1}, {std::numeric_limits<int64_t>::max()})}}, 13);
  EXPECT_FALSE(overflow.ok());
}

TEST(MovementPad, AttributesBeforeOpset11AndModesAfter) {
  onnx::NodeProto old_node = MakeNode("Pad", {"x"}, {"y"});
  SetAttr(&old_node, "pads", std::vector<int64_t>{1, 0});
  SetAttr(&old_node, "value", 9.0f);
  auto old = RunNode(old_node, {{"x", MakeTensor<int>(kInt8, {2}, {1, 2})}}, {}, 10);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(Values(old.value()[0]), (std::vector<double>{9, 1, 2}));

  const Tensor x = MakeTensor<int>(kInt32, {3}, {1, 2, 3});
  const std::map<std::string, std::vector<double>> expected = {
      {"reflect", {3, 2, 1, 2, 3, 2, 1}},
      {"edge", {1, 1, 1, 2, 3, 3, 3}},
      {"wrap", {2, 3, 1, 2, 3, 1, 2}},
  };
  for (const auto& [mode, values] : expected) {
    onnx::NodeProto node = MakeNode("Pad", {"x", "p"}, {"y"});
    SetAttr(&node, "mode", mode);
    auto out = RunNode(node, {{"x", x}}, {{"p", Int64s({2}, {2, 2})}}, 19);
    ASSERT_TRUE(out.ok()) << mode << ": " << out.status().ToString();
    EXPECT_EQ(Values(out.value()[0]), values) << mode;
  }
}

TEST(MovementTopK, TiesKeepTheLowerIndexAndKIsAnAttributeBeforeOpset10) {
  const Tensor x = Floats({5}, {3, 1, 3, 2, 3});
  auto out = RunNode(MakeNode("TopK", {"x", "k"}, {"v", "i"}), {{"x", x}},
                     {{"k", Int64s({1}, {2})}}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{3, 3}));
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{0, 2}));

  onnx::NodeProto old_node = MakeNode("TopK", {"x"}, {"v", "i"});
  SetAttr(&old_node, "k", int64_t{1});
  auto old = RunNode(old_node, {{"x", MakeTensor<int>(kInt64, {3}, {4, 9, 2})}}, {}, 9);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(Values(old.value()[1]), (std::vector<double>{1}));

  auto too_many = RunNode(MakeNode("TopK", {"x", "k"}, {"v", "i"}), {{"x", x}},
                          {{"k", Int64s({1}, {6})}}, 13);
  EXPECT_FALSE(too_many.ok());
}

TEST(MovementResize, UpsampleAttributeAndLegacyNearest) {
  // Upsample-7: scales attribute, nearest picks floor(x / scale).
  onnx::NodeProto up = MakeNode("Upsample", {"x"}, {"y"});
  SetAttr(&up, "scales", std::vector<float>{1.0f, 2.0f});
  auto out = RunNode(up, {{"x", MakeTensor<int>(kUint8, {1, 2}, {10, 20})}}, {}, 7);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{10, 10, 20, 20}));

  // Upsample-9 linear: asymmetric coordinates, clamped at the right edge.
  onnx::NodeProto linear = MakeNode("Upsample", {"x", "s"}, {"y"});
  SetAttr(&linear, "mode", std::string("linear"));
  auto lin = RunNode(linear, {{"x", Floats({1, 2}, {0, 4})}},
                     {{"s", Floats({2}, {1.0f, 2.0f})}}, 9);
  ASSERT_TRUE(lin.ok()) << lin.status().ToString();
  EXPECT_EQ(Values(lin.value()[0]), (std::vector<double>{0, 2, 4, 4}));
}

TEST(MovementResize, NearestSizesOnInt8AndRoundingModes) {
  const Tensor x = MakeTensor<int>(kInt8, {1, 1, 1, 4}, {-1, -2, -3, -4});
  onnx::NodeProto node = MakeNode("Resize", {"x", "", "", "sizes"}, {"y"});
  SetAttr(&node, "coordinate_transformation_mode", std::string("asymmetric"));
  SetAttr(&node, "nearest_mode", std::string("ceil"));
  auto out = RunNode(node, {{"x", x}}, {{"sizes", Int64s({4}, {1, 1, 1, 3})}}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // x = o * 4 / 3 = 0, 1.33, 2.67 -> ceil 0, 2, 3.
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{-1, -3, -4}));
}

TEST(MovementResize, Opset18AspectRatioPolicyAndOpset19HalfPixelSymmetric) {
  const Tensor x = Floats({1, 1, 2, 4}, {});
  const std::map<std::string, std::vector<int64_t>> expected = {
      {"stretch", {1, 1, 4, 4}}, {"not_larger", {1, 1, 2, 4}}, {"not_smaller", {1, 1, 4, 8}}};
  for (const auto& [policy, shape] : expected) {
    onnx::NodeProto node = MakeNode("Resize", {"x", "", "", "sizes"}, {"y"});
    SetAttr(&node, "axes", std::vector<int64_t>{2, 3});
    SetAttr(&node, "keep_aspect_ratio_policy", policy);
    auto out = RunNode(node, {{"x", x}}, {{"sizes", Int64s({2}, {4, 4})}}, 18);
    ASSERT_TRUE(out.ok()) << policy << ": " << out.status().ToString();
    EXPECT_EQ(out.value()[0].shape(), shape) << policy;
  }
  // in 4, scale 0.6: output 2 of a "true" width 2.4, so the sample points
  // shift by 2 * (1 - 2 / 2.4) towards the centre: x = 2/3 and 7/3.
  onnx::NodeProto node = MakeNode("Resize", {"x", "", "scales"}, {"y"});
  SetAttr(&node, "mode", std::string("linear"));
  SetAttr(&node, "coordinate_transformation_mode", std::string("half_pixel_symmetric"));
  auto out = RunNode(node, {{"x", Floats({4}, {0, 10, 20, 30})}},
                     {{"scales", Floats({1}, {0.6f})}}, 19);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::vector<double> got = Values(out.value()[0]);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NEAR(got[0], 20.0 / 3, 1e-4);
  EXPECT_NEAR(got[1], 70.0 / 3, 1e-4);
}

TEST(MovementEinsum, CommonFormsAndInt64) {
  const Tensor a = Floats({2, 3}, {1, 2, 3, 4, 5, 6});
  onnx::NodeProto sum = MakeNode("Einsum", {"a"}, {"y"});
  SetAttr(&sum, "equation", std::string("ij->i"));
  auto rows = RunNode(sum, {{"a", a}}, {}, 13);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(Values(rows.value()[0]), (std::vector<double>{6, 15}));

  onnx::NodeProto transpose = MakeNode("Einsum", {"a"}, {"y"});
  SetAttr(&transpose, "equation", std::string("ij->ji"));
  auto t = RunNode(transpose, {{"a", a}}, {}, 13);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Values(t.value()[0]), (std::vector<double>{1, 4, 2, 5, 3, 6}));

  // Implicit output "ik" for int64 matmul.
  onnx::NodeProto matmul = MakeNode("Einsum", {"a", "b"}, {"y"});
  SetAttr(&matmul, "equation", std::string("ij,jk"));
  auto mm = RunNode(matmul, {{"a", Int64s({1, 2}, {2, 3})}, {"b", Int64s({2, 2}, {1, 10, 100, 1000})}},
                    {}, 13);
  ASSERT_TRUE(mm.ok()) << mm.status().ToString();
  EXPECT_EQ(mm.value()[0].dtype(), kInt64);
  EXPECT_EQ(Values(mm.value()[0]), (std::vector<double>{302, 3020}));

  // Attention scores: bhid,bhjd->bhij.
  onnx::NodeProto attention = MakeNode("Einsum", {"q", "k"}, {"y"});
  SetAttr(&attention, "equation", std::string("bhid,bhjd->bhij"));
  auto scores = RunNode(attention, {{"q", Floats({1, 1, 2, 2}, {1, 0, 0, 1})},
                                    {"k", Floats({1, 1, 2, 2}, {1, 2, 3, 4})}},
                        {}, 13);
  ASSERT_TRUE(scores.ok()) << scores.status().ToString();
  EXPECT_EQ(Values(scores.value()[0]), (std::vector<double>{1, 3, 2, 4}));
}

TEST(MovementDepthToSpace, CrdAndDcrDifferOnInt64) {
  const Tensor x = MakeTensor<int>(kInt64, {1, 4, 1, 1}, {0, 1, 2, 3});
  for (const std::string mode : {"DCR", "CRD"}) {
    onnx::NodeProto node = MakeNode("DepthToSpace", {"x"}, {"y"});
    SetAttr(&node, "blocksize", int64_t{2});
    SetAttr(&node, "mode", mode);
    auto out = RunNode(node, {{"x", x}}, {}, 13);
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{1, 1, 2, 2}));
    // With one output channel both modes read channels in order.
    EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{0, 1, 2, 3})) << mode;
  }
  const Tensor two = MakeTensor<int>(kInt64, {1, 8, 1, 1}, {0, 1, 2, 3, 4, 5, 6, 7});
  onnx::NodeProto dcr = MakeNode("DepthToSpace", {"x"}, {"y"});
  SetAttr(&dcr, "blocksize", int64_t{2});
  auto out = RunNode(dcr, {{"x", two}}, {}, 13);
  ASSERT_TRUE(out.ok());
  // DCR: output channel c, block (i, j) reads channel (i * 2 + j) * 2 + c.
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{0, 2, 4, 6, 1, 3, 5, 7}));
}

}  // namespace
}  // namespace pq::testing
