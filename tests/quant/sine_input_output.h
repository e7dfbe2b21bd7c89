// The quantization tests' fixed probe: a model with input X [3, 40] run by
// pq's executor on sin(0.37 i), its first output as doubles.
#ifndef PQ_TESTS_QUANT_SINE_INPUT_OUTPUT_H_
#define PQ_TESTS_QUANT_SINE_INPUT_OUTPUT_H_

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "exec/kernel_test_util.h"
#include "pq/executor.h"
#include "pq/model.h"

namespace pq::testing {

inline std::vector<double> OutputOnSineInput(const Model& model) {
  std::vector<float> x(3 * 40);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
  auto exec = Executor::Create(model);
  EXPECT_TRUE(exec.ok()) << exec.status().ToString();
  auto out = exec.value()->Run({{"X", Floats({3, 40}, x)}});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  return Values(out.value()[0]);
}

}  // namespace pq::testing

#endif  // PQ_TESTS_QUANT_SINE_INPUT_OUTPUT_H_
