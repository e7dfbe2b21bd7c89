// Checks that a graph transformation kept a model's meaning: both models run
// on the same inputs (the caller's data, or one fixed-seed sample), and their
// outputs must agree.
#ifndef PQ_QUANT_EQUIVALENCE_CHECK_H_
#define PQ_QUANT_EQUIVALENCE_CHECK_H_

#include <map>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"
#include "pq/tensor.h"

namespace pq::quant {

// Relative L2 difference allowed between a model and its transformation.
inline constexpr double kEquivalenceTolerance = 1e-5;

// One set of graph inputs, by input name.
using Feeds = std::map<std::string, Tensor>;

// Runs `a` and `b` with pq's executor on each of `feeds` (which must fit
// `a`'s inputs), or when `feeds` is empty on one generated sample (seed
// fixed, dynamic dims as 1; floats uniform in [-1, 1], integers uniform over
// the smallest table a Gather indexes with them, else 0 or 1; bools 0 or 1),
// and compares every output: floats within `tolerance` (relative L2),
// integer and bool outputs exactly.
// Errors: kNotSupported (an input of another type, an op the executor cannot
// run), kInvalidInput when the output counts differ, or naming the first
// output (by its name in `a`) that differs in shape, type or value.
Status CheckSameOutputs(const Model& a, const Model& b, int threads,
                        double tolerance = kEquivalenceTolerance, const std::vector<Feeds>& feeds = {});

}  // namespace pq::quant

#endif  // PQ_QUANT_EQUIVALENCE_CHECK_H_
