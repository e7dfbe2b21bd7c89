// Runs a model on pq's executor for tests that compare outputs.
#ifndef PQ_TESTS_TESTUTIL_RUN_MODEL_H_
#define PQ_TESTS_TESTUTIL_RUN_MODEL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pq/model.h"

namespace pq::testing {

// Every output of `model` run with one float32 input `name` of `shape`
// holding `values`, the outputs' floats concatenated in output order. A
// refusal by the executor fails the calling test and gives {}.
std::vector<float> RunOnFloatInput(const Model& model, const std::string& name, const std::vector<int64_t>& shape,
                                   const std::vector<float>& values);

// ||a - b|| / ||b||, or 1e9 when the sizes differ or b is all zeros (so that
// a bound on it fails).
double RelativeL2(const std::vector<float>& a, const std::vector<float>& b);

}  // namespace pq::testing

#endif  // PQ_TESTS_TESTUTIL_RUN_MODEL_H_
