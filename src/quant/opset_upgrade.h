// pq's own default-domain opset upgrade, from any opset 7..20 to what a
// writer needs: 10 (QuantizeLinear), 13 (per-axis parameters) or 21
// (DequantizeLinear with block_size and int4 / uint4 inputs). It replaces
// onnx's version converter, which stops at 17 and asserts on a Softmax whose
// input shape it does not know.
#ifndef PQ_QUANT_OPSET_UPGRADE_H_
#define PQ_QUANT_OPSET_UPGRADE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"

namespace pq::quant {

// The highest default-domain opset UpgradeOpset reaches.
constexpr int64_t kMaxUpgradeOpset = 21;

// The lowest default-domain opset UpgradeOpset starts from.
constexpr int64_t kMinUpgradeOpset = 7;

// Returns a copy of `model` with default-domain opset `target` and the IR
// version that opset needs (or the model's, when higher). Every
// default-domain node (main graph and subgraphs) whose signature or meaning
// changed between the two opsets is rewritten into the form `target` reads
// with the same meaning (src/quant/opset_upgrade_rules.cc has one row per
// op and opset):
//   - attributes that became inputs (new int64 / float initializers in the
//     main graph): Slice 10, TopK 10, Pad 11, Clip 11, Dropout 12 (ratio),
//     Squeeze / Unsqueeze / ReduceSum / Split 13, the other reductions 18;
//   - Softmax / LogSoftmax / Hardmax 13: the axis made explicit when the
//     declared rank makes it the last one, else Flatten → op → Reshape;
//   - Upsample → Resize (10), Resize-10 → Resize-11 inputs and asymmetric
//     coordinates, Scatter → ScatterElements (11), Split 18 num_outputs;
//   - legacy attributes dropped: consumed_inputs, is_test, spatial = 1.
// Other ops keep their node as it is: their changes only widened types or
// added attributes whose defaults keep the old meaning.
// `rewritten_nodes` (may be null) receives the label of every rewritten node
// ("node 'name' (Op)").
// REQUIRES: kMinUpgradeOpset <= the model's opset <= target <= kMaxUpgradeOpset.
// Errors (messages name no file; the caller adds it): kNotSupported naming
// the node, op and reason when its meaning changed in a way pq does not
// rewrite (Scan before 9, RoiAlign before 16, GridSample and DFT before 20,
// GroupNormalization before 21, BatchNormalization with spatial = 0 or
// training outputs, a Dropout mask before 10, an opset-10 nearest Resize
// without constant scales or mixing up- and downsampling, Resize's
// tf_half_pixel_for_nn, a Pad value or Clip bound of a type other than
// float and double), or the REQUIRES does not hold; kInvalidInput for a node
// missing a required attribute.
Result<std::unique_ptr<Model>> UpgradeOpset(const Model& model, int64_t target,
                                            std::vector<std::string>* rewritten_nodes = nullptr);

}  // namespace pq::quant

#endif  // PQ_QUANT_OPSET_UPGRADE_H_
