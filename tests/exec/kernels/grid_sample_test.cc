// Tests of src/exec/kernels/grid_sample.cc (beyond ONNX's conformance
// cases): bilinear samples with aligned corners under zeros and border
// padding, worked by hand, and a grid that must be refused naming the node.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

Result<std::vector<Tensor>> RunGridSample(const Tensor& grid, const std::string& padding) {
  OneNodeCase c;
  c.node = MakeNode("GridSample", {"x", "g"}, {"y"});
  c.node.set_name("gs");
  SetAttr(&c.node, "align_corners", int64_t{1});
  SetAttr(&c.node, "padding_mode", padding);
  c.inputs = {{"x", Floats({1, 1, 2, 2}, {1, 2, 3, 4})}, {"g", grid}};
  c.opset = 16;
  return RunOneNode(c);
}

TEST(GridSample, BilinearWithAlignedCornersAndPadding) {
  // (x, y) = centre, top-left corner, top-right corner, beyond the right edge.
  const Tensor grid = Floats({1, 1, 4, 2}, {0, 0, -1, -1, 1, -1, 2, 0});
  auto zeros = RunGridSample(grid, "zeros");
  ASSERT_TRUE(zeros.ok()) << zeros.status().ToString();
  EXPECT_EQ(zeros.value()[0].shape(), (std::vector<int64_t>{1, 1, 1, 4}));
  // Beyond the edge: x = 1.5 mixes column 1 with zeros: 0.5 * (2 + 4) / 2.
  EXPECT_EQ(Values(zeros.value()[0]), (std::vector<double>{2.5, 1, 2, 1.5}));
  auto border = RunGridSample(grid, "border");
  ASSERT_TRUE(border.ok()) << border.status().ToString();
  // Border clamps x to column 1: the mean of 2 and 4.
  EXPECT_EQ(Values(border.value()[0]), (std::vector<double>{2.5, 1, 2, 3}));
}

TEST(GridSample, RefusesAGridWithoutTwoCoordinates) {
  auto out = RunGridSample(Floats({1, 2, 2, 3}, {}), "zeros");
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("gs"), std::string::npos);
  EXPECT_NE(out.status().message().find("[N, Ho, Wo, 2]"), std::string::npos);
}

}  // namespace
}  // namespace pq::testing
