// Tests of src/exec/kernels/shape.cc (beyond ONNX's conformance cases):
// opset-dependent forms, storage sharing, dtypes other than float, and
// errors that must come back as a Status instead of a crash.
#include <gtest/gtest.h>

#include "exec/kernel.h"
#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs `node` on `inputs` (fed) and `constants` (initializers) at `opset`.
Result<std::vector<Tensor>> RunNode(const onnx::NodeProto& node, std::map<std::string, Tensor> inputs,
                                std::map<std::string, Tensor> constants, int64_t opset) {
  OneNodeCase c;
  c.node = node;
  c.inputs = std::move(inputs);
  c.constants = std::move(constants);
  c.opset = opset;
  return RunOneNode(c);
}

TEST(ShapeReshape, ZeroCopiesDimMinusOneInfersAndStorageIsShared) {
  const Tensor x = Floats({2, 3, 4}, {});
  auto out = RunNode(MakeNode("Reshape", {"x", "s"}, {"y"}), {{"x", x}},
                 {{"s", Int64s({2}, {0, -1})}}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 12}));
  EXPECT_EQ(out.value()[0].raw(), x.raw());  // no copy
}

TEST(ShapeReshape, AllowZeroKeepsZeroOnlyFromOpset14) {
  const Tensor x = Floats({2, 0}, {});
  onnx::NodeProto node = MakeNode("Reshape", {"x", "s"}, {"y"});
  SetAttr(&node, "allowzero", int64_t{1});
  auto out = RunNode(node, {{"x", x}}, {{"s", Int64s({2}, {0, 5})}}, 14);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{0, 5}));
  // Without allowzero the 0 copies dim 0 (2), so 10 elements != 0.
  auto copied = RunNode(MakeNode("Reshape", {"x", "s"}, {"y"}), {{"x", x}},
                    {{"s", Int64s({2}, {0, 5})}}, 14);
  EXPECT_FALSE(copied.ok());
}

TEST(ShapeReshape, ElementCountMismatchIsAnErrorNamingBothShapes) {
  auto out = RunNode(MakeNode("Reshape", {"x", "s"}, {"y"}), {{"x", Floats({2, 3}, {})}},
                 {{"s", Int64s({2}, {4, 2})}}, 13);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kInvalidInput);
  EXPECT_TRUE(Contains(out.status().message(), "element counts differ")) << out.status().message();
  EXPECT_TRUE(Contains(out.status().message(), "[2, 3]")) << out.status().message();
  EXPECT_TRUE(Contains(out.status().message(), "[4, 2]")) << out.status().message();
}

TEST(ShapeSqueeze, AxesAttributeBeforeOpset13AndInputFrom13) {
  const Tensor x = MakeTensor<int>(kInt32, {1, 3, 1}, {7, 8, 9});
  onnx::NodeProto attr_node = MakeNode("Squeeze", {"x"}, {"y"});
  SetAttr(&attr_node, "axes", std::vector<int64_t>{-1});
  auto old = RunNode(attr_node, {{"x", x}}, {}, 11);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old.value()[0].shape(), (std::vector<int64_t>{1, 3}));

  auto now = RunNode(MakeNode("Squeeze", {"x", "axes"}, {"y"}), {{"x", x}},
                 {{"axes", Int64s({1}, {0})}}, 13);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(now.value()[0].shape(), (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(Values(now.value()[0]), (std::vector<double>{7, 8, 9}));

  auto all = RunNode(MakeNode("Squeeze", {"x"}, {"y"}), {{"x", x}}, {}, 13);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all.value()[0].shape(), (std::vector<int64_t>{3}));
}

TEST(ShapeSqueeze, SqueezingADimOtherThanOneIsAnError) {
  auto out = RunNode(MakeNode("Squeeze", {"x", "axes"}, {"y"}), {{"x", Floats({1, 3}, {})}},
                 {{"axes", Int64s({1}, {1})}}, 13);
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(Contains(out.status().message(), "not 1")) << out.status().message();
}

TEST(ShapeUnsqueeze, NegativeAxesCountFromTheOutputRank) {
  const Tensor x = MakeTensor<int>(kBool, {2, 3}, {1, 0, 1, 0, 1, 0});
  onnx::NodeProto attr_node = MakeNode("Unsqueeze", {"x"}, {"y"});
  SetAttr(&attr_node, "axes", std::vector<int64_t>{-1});
  auto old = RunNode(attr_node, {{"x", x}}, {}, 11);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old.value()[0].shape(), (std::vector<int64_t>{2, 3, 1}));

  auto now = RunNode(MakeNode("Unsqueeze", {"x", "axes"}, {"y"}), {{"x", x}},
                 {{"axes", Int64s({2}, {-1, 0})}}, 13);
  ASSERT_TRUE(now.ok()) << now.status().ToString();
  EXPECT_EQ(now.value()[0].shape(), (std::vector<int64_t>{1, 2, 3, 1}));
  EXPECT_EQ(now.value()[0].dtype(), kBool);
}

TEST(ShapeFlatten, NegativeAxisOnInt8) {
  onnx::NodeProto node = MakeNode("Flatten", {"x"}, {"y"});
  SetAttr(&node, "axis", int64_t{-1});
  auto out = RunNode(node, {{"x", MakeTensor<int>(kInt8, {2, 3, 4}, {})}}, {}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{6, 4}));
  EXPECT_EQ(out.value()[0].dtype(), kInt8);
}

TEST(ShapeShape, StartAndEndApplyFromOpset15Only) {
  onnx::NodeProto node = MakeNode("Shape", {"x"}, {"y"});
  SetAttr(&node, "start", int64_t{1});
  SetAttr(&node, "end", int64_t{-1});
  const Tensor x = Floats({2, 3, 4, 5}, {});
  auto v15 = RunNode(node, {{"x", x}}, {}, 15);
  ASSERT_TRUE(v15.ok()) << v15.status().ToString();
  EXPECT_EQ(Values(v15.value()[0]), (std::vector<double>{3, 4}));
  auto v13 = RunNode(node, {{"x", x}}, {}, 13);
  ASSERT_TRUE(v13.ok());
  EXPECT_EQ(Values(v13.value()[0]), (std::vector<double>{2, 3, 4, 5}));
}

TEST(ShapeExpand, BroadcastsBothWaysForInt8) {
  const Tensor x = MakeTensor<int>(kInt8, {3, 1}, {-1, 2, -3});
  auto out = RunNode(MakeNode("Expand", {"x", "s"}, {"y"}), {{"x", x}},
                 {{"s", Int64s({3}, {2, 1, 2})}}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{2, 3, 2}));
  EXPECT_EQ(Values(out.value()[0]),
            (std::vector<double>{-1, -1, 2, 2, -3, -3, -1, -1, 2, 2, -3, -3}));
  auto bad = RunNode(MakeNode("Expand", {"x", "s"}, {"y"}), {{"x", x}},
                 {{"s", Int64s({2}, {2, 2})}}, 13);
  EXPECT_FALSE(bad.ok());
}

TEST(ShapeConstantOfShape, Int64ValueAndFloatZeroDefault) {
  onnx::NodeProto node = MakeNode("ConstantOfShape", {"s"}, {"y"});
  auto* attr = node.add_attribute();
  attr->set_name("value");
  attr->set_type(onnx::AttributeProto::TENSOR);
  attr->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  attr->mutable_t()->add_dims(1);
  attr->mutable_t()->add_int64_data(7);
  auto out = RunNode(node, {{"s", Int64s({2}, {2, 2})}}, {}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out.value()[0].dtype(), kInt64);
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{7, 7, 7, 7}));

  auto zeros = RunNode(MakeNode("ConstantOfShape", {"s"}, {"y"}), {{"s", Int64s({1}, {3})}}, {}, 13);
  ASSERT_TRUE(zeros.ok());
  EXPECT_EQ(zeros.value()[0].dtype(), kFloat);
  EXPECT_EQ(Values(zeros.value()[0]), (std::vector<double>{0, 0, 0}));
}

TEST(ShapeRange, Int64NegativeDeltaAndZeroDeltaError) {
  auto out = RunNode(MakeNode("Range", {"a", "b", "c"}, {"y"}),
                 {{"a", Int64s({}, {10})}, {"b", Int64s({}, {1})}, {"c", Int64s({}, {-3})}}, {}, 13);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{10, 7, 4}));
  auto zero = RunNode(MakeNode("Range", {"a", "b", "c"}, {"y"}),
                  {{"a", Int64s({}, {0})}, {"b", Int64s({}, {4})}, {"c", Int64s({}, {0})}}, {}, 13);
  ASSERT_FALSE(zero.ok());
  EXPECT_TRUE(Contains(zero.status().message(), "delta is 0")) << zero.status().message();
}

// The executor turns top-level Constant nodes into constants itself, so the
// kernel (used where it does not) is called directly.
TEST(ShapeConstant, KernelHandlesValueIntsAndRefusesStrings) {
  const exec::KernelDef* def = exec::FindKernel("", "Constant", 13);
  ASSERT_NE(def, nullptr);
  onnx::NodeProto node = MakeNode("Constant", {}, {"y"});
  SetAttr(&node, "value_ints", std::vector<int64_t>{4, 5, 6});
  std::vector<Tensor> outputs(1);
  exec::KernelContext ctx(node, 13, {}, &outputs, 1);
  ASSERT_TRUE(def->fn(ctx).ok());
  EXPECT_EQ(outputs[0].dtype(), kInt64);
  EXPECT_EQ(Values(outputs[0]), (std::vector<double>{4, 5, 6}));

  onnx::NodeProto strings = MakeNode("Constant", {}, {"y"});
  SetAttr(&strings, "value_string", std::string("text"));
  exec::KernelContext string_ctx(strings, 13, {}, &outputs, 1);
  EXPECT_EQ(def->fn(string_ctx).code(), Status::Code::kNotSupported);
}

}  // namespace
}  // namespace pq::testing
