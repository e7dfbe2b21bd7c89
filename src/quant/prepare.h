// Preparation of an FP32 model before quantization: folding
// BatchNormalization into the Conv before it (what runtimes do before fusing
// quantized convolutions). The opset upgrade is quant/opset_upgrade.h.
#ifndef PQ_QUANT_PREPARE_H_
#define PQ_QUANT_PREPARE_H_

#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/status.h"

namespace pq::quant {

// One BatchNormalization folded into a Conv.
struct FoldedBatchNorm {
  std::string batchnorm;  // the removed node
  std::string conv;       // the Conv that absorbed it
};

// Returns a copy of `model` where every BatchNormalization (inference mode,
// constant float parameters) that is the only consumer of a Conv with a
// constant float weight is folded into that Conv: W' = W * a, b' = (b - mean)
// * a + beta with a = scale / sqrt(var + epsilon), per output channel.
// `folded` lists what was folded (possibly nothing).
Result<std::unique_ptr<Model>> FoldBatchNorms(const Model& model,
                                              std::vector<FoldedBatchNorm>* folded);

}  // namespace pq::quant

#endif  // PQ_QUANT_PREPARE_H_
