// Tests of src/exec/kernels/mel_weight_matrix.cc: a worked filter bank whose
// edges land on distinct bins, integer output types, and refusals naming
// the node.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

constexpr double kTolerance = 1e-6;

Result<std::vector<Tensor>> RunMel(int64_t mel_bins, int64_t dft_length, int64_t sample_rate,
                                   float lower_hz, float upper_hz, int64_t output_datatype = 1) {
  OneNodeCase c;
  c.node = MakeNode("MelWeightMatrix", {"m", "n", "sr", "lo", "hi"}, {"w"});
  c.node.set_name("mel");
  SetAttr(&c.node, "output_datatype", output_datatype);
  c.inputs = {{"m", MakeTensor<int64_t>(kInt32, {}, {mel_bins})},
              {"n", Int64s({}, {dft_length})},
              {"sr", MakeTensor<int64_t>(kInt32, {}, {sample_rate})},
              {"lo", Floats({}, {lower_hz})},
              {"hi", Floats({}, {upper_hz})}};
  c.opset = 17;
  return RunOneNode(c);
}

// 5 mel bins of a 30-point DFT at 16 kHz between 100 Hz and 8 kHz. The 7
// edges, at mel(100) + i (mel(8000) - mel(100)) / 7, are at (30 + 1) * f /
// 16000 = 0.19, 0.82, 1.71, 2.95, 4.71, 7.17, 10.63, i.e. bins
// [0, 0, 1, 2, 4, 7, 10]: filter 0 has an empty rise (1 at bin 0), filter 3
// rises over 2..4 and falls over 4..7. ONNX Runtime 1.30 gives this matrix.
TEST(MelWeightMatrix, WorkedFilterBankMatchesTheEdgeBins) {
  auto w = RunMel(5, 30, 16000, 100, 8000);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w.value()[0].shape(), (std::vector<int64_t>{16, 5}));
  std::vector<double> expected(16 * 5, 0.0);
  auto at = [&](int bin, int i) -> double& { return expected[static_cast<size_t>(bin * 5 + i)]; };
  at(0, 0) = 1;                                        // filter 0: edges 0, 0, 1
  at(1, 1) = 1;                                        // filter 1: 0, 1, 2
  at(2, 2) = 1; at(3, 2) = 0.5;                        // filter 2: 1, 2, 4
  at(3, 3) = 0.5; at(4, 3) = 1; at(5, 3) = 2.0 / 3; at(6, 3) = 1.0 / 3;  // 2, 4, 7
  at(5, 4) = 1.0 / 3; at(6, 4) = 2.0 / 3; at(7, 4) = 1; at(8, 4) = 2.0 / 3;
  at(9, 4) = 1.0 / 3;                                  // filter 4: 4, 7, 10
  const std::vector<double> got = Values(w.value()[0]);
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_NEAR(got[k], expected[k], kTolerance) << "bin " << k / 5 << " filter " << k % 5;
  }
  // The same matrix as int32 (output_datatype 6): only the 1s survive
  // rounding half to even (0.5 -> 0, 2/3 -> 1, 1/3 -> 0).
  auto ints = RunMel(5, 30, 16000, 100, 8000, 6);
  ASSERT_TRUE(ints.ok()) << ints.status().ToString();
  EXPECT_EQ(ints.value()[0].dtype(), kInt32);
  EXPECT_EQ(ints.value()[0].data<int32_t>()[4 * 5 + 3], 1);
  EXPECT_EQ(ints.value()[0].data<int32_t>()[3 * 5 + 2], 0);
  EXPECT_EQ(ints.value()[0].data<int32_t>()[5 * 5 + 3], 1);
}

TEST(MelWeightMatrix, RefusesBadCountsAndEdgesNamingTheNode) {
  const std::vector<std::pair<Result<std::vector<Tensor>>, std::string>> refused = {
      {RunMel(0, 16, 8000, 0, 4000), "num_mel_bins"},
      {RunMel(4, 0, 8000, 0, 4000), "dft_length"},
      {RunMel(4, 16, 0, 0, 4000), "sample_rate"},
      {RunMel(4, 16, 8000, 500, 100), "lower_edge_hertz"},
      {RunMel(4, 16, 8000, -1, 100), "lower_edge_hertz"},
      {RunMel(4, 16, 8000, 0, 4001), "sample_rate / 2"},
  };
  for (const auto& [result, part] : refused) {
    ASSERT_FALSE(result.ok()) << part;
    EXPECT_NE(result.status().message().find("mel"), std::string::npos)
        << result.status().ToString();
    EXPECT_NE(result.status().message().find(part), std::string::npos)
        << result.status().ToString();
  }
}

}  // namespace
}  // namespace pq::testing
