// Tests of src/exec/kernels/detection.cc (beyond ONNX's conformance
// cases): NonMaxSuppression over two classes with score ties and a score
// threshold, RoiAlign samples worked by hand, and inputs that must be
// refused with a Status naming the node.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

Result<std::vector<Tensor>> RunNms(const Tensor& boxes, const Tensor& scores, int64_t max_out,
                                   float iou, float score_threshold) {
  OneNodeCase c;
  c.node = MakeNode("NonMaxSuppression", {"b", "s", "m", "i", "t"}, {"y"});
  c.node.set_name("nms");
  c.inputs = {{"b", boxes}, {"s", scores}};
  c.constants = {{"m", Int64s({1}, {max_out})}, {"i", Floats({1}, {iou})},
                 {"t", Floats({1}, {score_threshold})}};
  c.opset = 11;
  return RunOneNode(c);
}

TEST(NonMaxSuppression, TiesTakeTheLowerIndexAndOverlapsAreSuppressed) {
  // Boxes 0 and 1 overlap (IoU 0.6); box 2 is apart; corners given flipped.
  const Tensor boxes = Floats({1, 3, 4}, {0, 0, 1, 1, 0, 0.25f, 1, 1.25f, 3, 3, 2, 2});
  // Class 0: boxes 0 and 1 tie; class 1: box 2 is below the threshold.
  const Tensor scores = Floats({1, 2, 3}, {0.9f, 0.9f, 0.8f, 0.5f, 0.7f, 0.05f});
  auto out = RunNms(boxes, scores, 5, 0.5f, 0.1f);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // Class 0 keeps 0 (1 is suppressed by it) and 2; class 1 keeps 1 (0 is
  // suppressed, 2 is below the threshold).
  EXPECT_EQ(out.value()[0].shape(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{0, 0, 0, 0, 0, 2, 0, 1, 1}));
  // With IoU threshold 0.7 the overlap (0.6) no longer suppresses.
  auto loose = RunNms(boxes, scores, 1, 0.7f, 0.0f);
  ASSERT_TRUE(loose.ok()) << loose.status().ToString();
  EXPECT_EQ(Values(loose.value()[0]), (std::vector<double>{0, 0, 0, 0, 1, 1}));
}

TEST(NonMaxSuppression, RefusesMismatchedShapes) {
  auto out = RunNms(Floats({1, 3, 4}, {}), Floats({1, 2, 2}, {}), 1, 0.5f, 0.0f);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("nms"), std::string::npos);
  EXPECT_NE(out.status().message().find("[B, S, 4]"), std::string::npos);
}

Result<std::vector<Tensor>> RunRoiAlign(const std::string& transform, int64_t batch_index) {
  OneNodeCase c;
  c.node = MakeNode("RoiAlign", {"x", "r", "b"}, {"y"});
  c.node.set_name("roi");
  SetAttr(&c.node, "coordinate_transformation_mode", transform);
  SetAttr(&c.node, "sampling_ratio", int64_t{1});
  c.inputs = {{"x", Floats({1, 1, 2, 2}, {1, 2, 3, 4})}, {"r", Floats({1, 4}, {0, 0, 1, 1})},
              {"b", Int64s({1}, {batch_index})}};
  c.opset = 16;
  return RunOneNode(c);
}

TEST(RoiAlign, OneSamplePerBinUnderBothCoordinateModes) {
  // output_half_pixel samples the unit ROI at (0.5, 0.5): the mean of all
  // four pixels; half_pixel shifts it to (0, 0): the first pixel.
  auto output_half = RunRoiAlign("output_half_pixel", 0);
  ASSERT_TRUE(output_half.ok()) << output_half.status().ToString();
  EXPECT_EQ(Values(output_half.value()[0]), (std::vector<double>{2.5}));
  auto half = RunRoiAlign("half_pixel", 0);
  ASSERT_TRUE(half.ok()) << half.status().ToString();
  EXPECT_EQ(Values(half.value()[0]), (std::vector<double>{1}));
  auto bad = RunRoiAlign("half_pixel", 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("roi"), std::string::npos);
  EXPECT_NE(bad.status().message().find("batch index 3"), std::string::npos);
}

}  // namespace
}  // namespace pq::testing
