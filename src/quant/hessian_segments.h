// Segments of a segmented Hessian pass (hessian_feed.h): the observed run of
// a prepared model cut into consecutive ranges of steps so that the X^T X
// of the layer inputs produced in one range fit a memory budget. Each range
// is run over all the calibration data before the next, with only the
// values crossing the cut kept in between.
#ifndef PQ_QUANT_HESSIAN_SEGMENTS_H_
#define PQ_QUANT_HESSIAN_SEGMENTS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "pq/model.h"
#include "quant/hessian_collector.h"

namespace pq::quant {

// Steps [begin, end) of the observed run (Executor::ObservedStepNodes) and
// the inputs whose X^T X is summed while they run: those their steps
// produce (graph inputs: the first segment's).
struct HessianSegment {
  size_t begin = 0;
  size_t end = 0;
  std::vector<HessianInput> inputs;
};

// What the collector holds for `in`: its K x K doubles and K magnitudes.
int64_t HessianBytes(const HessianInput& in);

// Cuts the run whose steps execute `step_nodes` (node indices of
// prepared's main graph, in execution order) into segments, in order. The
// inputs are taken in the order they are produced and a segment closes when
// the next input would take its Hessians past `budget_bytes` (the inputs
// one step produces stay together, so such a group alone may exceed it).
// The cut between two segments lies after the step producing the last
// input of the first and at or before the step producing the first input
// of the second, where the fewest values of the graph (constants aside)
// cross it. The first segment begins at step 0, each next one where the
// previous ended; the last ends after the step producing its last input
// (later steps are not needed). Empty when `inputs` is.
std::vector<HessianSegment> PlanHessianSegments(const Model& prepared, const std::vector<int>& step_nodes,
                                                const std::vector<HessianInput>& inputs, int64_t budget_bytes);

}  // namespace pq::quant

#endif  // PQ_QUANT_HESSIAN_SEGMENTS_H_
