// Tests of src/base/body_path.cc: the names of bodies and of the values
// inside them, and the recognition of such names (which decides what a merge
// of calibration statistics may find in some shards only).
#include "base/body_path.h"

#include <gtest/gtest.h>

namespace pq {
namespace {

TEST(BodyPathTest, NamesBodiesAndTheirValues) {
  onnx::NodeProto named;
  named.set_op_type("If");
  named.set_name("gate");
  onnx::NodeProto unnamed;
  unnamed.set_op_type("Loop");
  const std::string then_branch = BodyPath("", named, 3, "then_branch");
  EXPECT_EQ(then_branch, "If 'gate'/then_branch");
  const std::string nested = BodyPath(then_branch, unnamed, 0, "body");
  EXPECT_EQ(nested, "If 'gate'/then_branch/Loop #0/body");
  EXPECT_EQ(ScopedValueName(nested, "x"), "If 'gate'/then_branch/Loop #0/body::x");
  EXPECT_EQ(ScopedValueName("", "x"), "x");
}

TEST(BodyPathTest, RecognizesScopedNamesOnly) {
  EXPECT_TRUE(IsBodyValueName("If 'gate'/then_branch::X"));
  EXPECT_TRUE(IsBodyValueName("If 'my gate'/else_branch::x::y"));
  EXPECT_TRUE(IsBodyValueName("Loop #0/body::y_in"));
  EXPECT_TRUE(IsBodyValueName("If 'a'/then_branch/Scan #2/body::r"));
  // Names exporters write, some with '/' or "::".
  EXPECT_FALSE(IsBodyValueName("X"));
  EXPECT_FALSE(IsBodyValueName("/model/layers.0/self_attn/MatMul_output_0"));
  EXPECT_FALSE(IsBodyValueName("onnx::MatMul_123"));
  EXPECT_FALSE(IsBodyValueName("a b/c::d"));
  EXPECT_FALSE(IsBodyValueName("If 'gate'/then_branch"));
  EXPECT_FALSE(IsBodyValueName(" '/::"));
}

}  // namespace
}  // namespace pq
