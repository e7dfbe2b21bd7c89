// Tests of src/exec/legacy_opset.cc: models older than opset 7 run the ops
// whose meaning at their opset is today's, and any other node is refused
// naming it and what its version has.
#include "exec/legacy_opset.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Result<std::vector<Tensor>> RunAt(const std::string& op, int64_t opset) {
  OneNodeCase c;
  c.node = MakeNode(op, {"x"}, {"y"});
  c.node.set_name("old");
  c.inputs = {{"x", Floats({3}, {-1, 0, 2})}};
  c.opset = opset;
  return RunOneNode(c);
}

TEST(LegacyOpset, RunsOpsWhoseMeaningIsUnchanged) {
  auto softsign = RunAt("Softsign", 1);
  ASSERT_TRUE(softsign.ok()) << softsign.status().ToString();
  const std::vector<double> y = Values(softsign.value()[0]);
  ASSERT_EQ(y.size(), 3u);
  EXPECT_EQ(y[0], -0.5);
  EXPECT_EQ(y[1], 0);
  EXPECT_NEAR(y[2], 2.0 / 3.0, 1e-7);
  auto elu = RunAt("Elu", 6);
  ASSERT_TRUE(elu.ok()) << elu.status().ToString();
  EXPECT_NEAR(Values(elu.value()[0])[0], std::exp(-1.0) - 1, 1e-6);
}

TEST(LegacyOpset, RefusesOlderVersionsNamingTheNodeAndWhy) {
  auto relu = RunAt("Relu", 5);
  ASSERT_FALSE(relu.ok());
  EXPECT_EQ(relu.status().code(), Status::Code::kNotSupported);
  EXPECT_TRUE(Contains(relu.status().message(), "'old'")) << relu.status().ToString();
  EXPECT_TRUE(Contains(relu.status().message(), "consumed_inputs"));
  auto dropout = RunAt("Dropout", 6);
  ASSERT_FALSE(dropout.ok());
  EXPECT_TRUE(Contains(dropout.status().message(), "is_test")) << dropout.status().ToString();
  // From opset 7 on, the check passes everything to the kernel table.
  onnx::NodeProto node = MakeNode("Dropout", {"x"}, {"y"});
  EXPECT_TRUE(exec::CheckLegacyOpset(node, 7).ok());
  EXPECT_TRUE(exec::CheckLegacyOpset(MakeNode("Foo", {"x"}, {"y"}, "com.example"), 1).ok());
}

}  // namespace
}  // namespace pq::testing
