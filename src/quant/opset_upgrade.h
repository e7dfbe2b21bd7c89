// pq's own default-domain opset upgrade, for what onnx 1.12's version
// converter cannot reach (it stops at opset 17): opset 21 is where
// DequantizeLinear takes block_size and int4 / uint4 inputs.
#ifndef PQ_QUANT_OPSET_UPGRADE_H_
#define PQ_QUANT_OPSET_UPGRADE_H_

#include <cstdint>
#include <memory>

#include "pq/model.h"
#include "pq/status.h"

namespace pq::quant {

// The highest default-domain opset UpgradeOpset reaches.
constexpr int64_t kMaxUpgradeOpset = 21;

// Returns a copy of `model` with default-domain opset `target` and
// ir_version max(current, 10). Nodes (main graph and subgraphs) whose
// signature changed on the way are rewritten: below 18, ReduceMean, ReduceMax,
// ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp
// and ReduceSumSquare move their `axes` attribute to an int64 initializer
// read as input 1 (keepdims stays; noop_with_empty_axes' default 0 keeps the
// meaning of no axes). Other ops keep their node as it is.
// `rewritten_nodes` (may be null) receives how many nodes were rewritten.
// REQUIRES: 13 <= the model's opset <= target <= kMaxUpgradeOpset.
// Errors (messages name no file; the caller adds it): kNotSupported naming
// the node and op when an op's meaning changed
// between the two opsets (GroupNormalization before 21, RoiAlign before 16,
// GridSample before 20, DFT before 20), or the REQUIRES does not hold.
Result<std::unique_ptr<Model>> UpgradeOpset(const Model& model, int64_t target,
                                            int* rewritten_nodes = nullptr);

}  // namespace pq::quant

#endif  // PQ_QUANT_OPSET_UPGRADE_H_
