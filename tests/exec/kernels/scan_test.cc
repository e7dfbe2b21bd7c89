// Tests of src/exec/kernels/scan.cc: Scan-9+ forward and reverse, over
// another axis, and Scan-8 with its batch axis and sequence_lens.
#include <gtest/gtest.h>

#include "exec/kernel_test_util.h"
#include "exec/kernels/body_builder.h"
#include "pq/data_type.h"

namespace pq::testing {
namespace {

// A running sum: state sum, scan input x; outputs the sum and each partial.
onnx::GraphProto SumBody() {
  return MakeBody({"sum", "x_t"}, {"sum_out", "partial"},
                  {MakeNode("Add", {"sum", "x_t"}, {"sum_out"}),
                   MakeNode("Identity", {"sum_out"}, {"partial"})});
}

OneNodeCase Scan9Case() {
  OneNodeCase c;
  c.node = MakeNode("Scan", {"init", "X"}, {"total", "partials"});
  SetAttr(&c.node, "num_scan_inputs", static_cast<int64_t>(1));
  SetGraphAttr(&c.node, "body", SumBody());
  c.inputs["init"] = Floats({2}, {0, 0});
  c.inputs["X"] = Floats({3, 2}, {1, 2, 3, 4, 5, 6});
  return c;
}

TEST(ScanTest, ForwardScanSumsAndStacksPartials) {
  Result<std::vector<Tensor>> out = RunOneNode(Scan9Case());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{9, 12}));
  EXPECT_EQ(out.value()[1].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{1, 2, 4, 6, 9, 12}));
}

TEST(ScanTest, ReverseInputAndReverseOutputDirections) {
  OneNodeCase c = Scan9Case();
  SetAttr(&c.node, "scan_input_directions", std::vector<int64_t>{1});
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{5, 6, 8, 10, 9, 12}));
  SetAttr(&c.node, "scan_output_directions", std::vector<int64_t>{1});
  out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{9, 12, 8, 10, 5, 6}));
}

TEST(ScanTest, ScansAlongAnotherAxisAndStacksOnAnother) {
  OneNodeCase c = Scan9Case();
  c.inputs["init"] = Floats({3}, {0, 0, 0});
  SetAttr(&c.node, "scan_input_axes", std::vector<int64_t>{-1});   // columns of [3, 2]
  SetAttr(&c.node, "scan_output_axes", std::vector<int64_t>{1});
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{3, 7, 11}));
  EXPECT_EQ(out.value()[1].shape(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{1, 3, 3, 7, 5, 11}));
}

TEST(ScanTest, Opset8ScansEachBatchEntryAndPadsShortSequences) {
  OneNodeCase c;
  c.opset = 8;
  c.node = MakeNode("Scan", {"lens", "init", "X"}, {"total", "partials"});
  SetAttr(&c.node, "num_scan_inputs", static_cast<int64_t>(1));
  SetGraphAttr(&c.node, "body", SumBody());
  c.inputs["lens"] = MakeTensor<int>(kInt32, {2}, {3, 2});
  c.inputs["init"] = Floats({2, 1}, {0, 100});
  c.inputs["X"] = Floats({2, 3, 1}, {1, 2, 3, 10, 20, 30});
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{6, 130}));
  EXPECT_EQ(out.value()[1].shape(), (std::vector<int64_t>{2, 3, 1}));
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{1, 3, 6, 110, 130, 0}));
}

TEST(ScanTest, RefusesScanInputsOfDifferentLengths) {
  OneNodeCase c = Scan9Case();
  c.node = MakeNode("Scan", {"init", "X", "Z"}, {"total", "partials"});
  SetAttr(&c.node, "num_scan_inputs", static_cast<int64_t>(2));
  onnx::GraphProto body = SumBody();
  body.add_input()->set_name("z_t");
  SetGraphAttr(&c.node, "body", body);
  c.inputs["Z"] = Floats({4, 2}, {});
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("(Scan): scan input 1 has 4 elements on its scan axis, scan "
                                        "input 0 has 3"),
            std::string::npos) << out.status().ToString();
}

TEST(ScanTest, RefusesAMissingNumScanInputs) {
  OneNodeCase c = Scan9Case();
  c.node.mutable_attribute()->DeleteSubrange(0, 1);
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("(Scan): attribute 'num_scan_inputs' is missing"),
            std::string::npos) << out.status().ToString();
}

}  // namespace
}  // namespace pq::testing
