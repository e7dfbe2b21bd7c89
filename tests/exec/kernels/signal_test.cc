// Tests of src/exec/kernels/signal.cc and det.cc (beyond ONNX's
// conformance cases): window values against their formulas, determinants
// of batched matrices needing pivoting, and refused inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

constexpr double kTolerance = 1e-6;
constexpr double kPi = 3.14159265358979323846;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

Result<std::vector<Tensor>> RunWindow(const std::string& op, int64_t size, int64_t periodic) {
  OneNodeCase c;
  c.node = MakeNode(op, {"n"}, {"w"});
  c.node.set_name("win");
  SetAttr(&c.node, "periodic", periodic);
  c.inputs = {{"n", Int64s({}, {size})}};
  c.opset = 17;
  return RunOneNode(c);
}

TEST(Windows, SymmetricHannAndPeriodicBlackmanFollowTheirFormulas) {
  auto hann = RunWindow("HannWindow", 5, 0);
  ASSERT_TRUE(hann.ok()) << hann.status().ToString();
  const std::vector<double> h = Values(hann.value()[0]);
  ASSERT_EQ(h.size(), 5u);
  for (int n = 0; n < 5; ++n) EXPECT_NEAR(h[n], std::pow(std::sin(kPi * n / 4), 2), kTolerance);
  auto black = RunWindow("BlackmanWindow", 4, 1);
  ASSERT_TRUE(black.ok()) << black.status().ToString();
  const std::vector<double> b = Values(black.value()[0]);
  for (int n = 0; n < 4; ++n) {
    EXPECT_NEAR(b[n], 0.42 - 0.5 * std::cos(2 * kPi * n / 4) + 0.08 * std::cos(4 * kPi * n / 4),
                kTolerance);
  }
  auto bad = RunWindow("HammingWindow", -1, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "win") && Contains(bad.status().message(), "size"));
}

TEST(Det, BatchedMatricesWithPivotingAndRefusedNonSquare) {
  OneNodeCase c;
  c.node = MakeNode("Det", {"x"}, {"d"});
  c.node.set_name("det");
  // [[0, 1, 2], [3, 4, 5], [6, 7, 9]] needs a row swap: det = -3;
  // [[2, 0, 0], [0, 3, 0], [0, 0, 4]] = 24.
  c.inputs = {{"x", Floats({2, 3, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 9, 2, 0, 0, 0, 3, 0, 0, 0, 4})}};
  c.opset = 13;
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  const std::vector<double> d = Values(out.value()[0]);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_NEAR(d[0], -3, 1e-5);
  EXPECT_NEAR(d[1], 24, 1e-5);
  c.inputs = {{"x", Floats({2, 3}, {})}};
  auto bad = RunOneNode(c);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "square"));
}

}  // namespace
}  // namespace pq::testing
