// The equalization stage (--equalize), between Prepare (BatchNormalization
// already folded into its Conv) and Plan: every Conv -> ... -> Conv chain
// whose intermediate tensors each have one reader is a candidate pair. It is
// equalized (equalize.h, repeated over all pairs until the scales settle,
// since a Conv can end one pair and start the next) when
//   - every op between is positive-homogeneous and per channel: Relu,
//     LeakyRelu, PRelu, Identity, MaxPool, AveragePool, GlobalAveragePool,
//     GlobalMaxPool, Clip without an upper bound and with lower bound 0 or
//     none (a Clip with a finite upper bound, e.g. Relu6, is not: refused);
//   - both weights and the first Conv's bias are float32 constants that only
//     their Conv reads, and the second Conv's input channels match the
//     first's output channels.
// The rewritten model is kept only when pq's executor gives the same FP32
// outputs within the tolerance (kEquivalenceTolerance, 1e-5 relative L2)
// on the first --calib batches, or on a generated sample without --calib;
// otherwise no pair is applied, each record and a warning say why.
#ifndef PQ_QUANT_EQUALIZE_STAGE_H_
#define PQ_QUANT_EQUALIZE_STAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/equivalence_check.h"

namespace pq::quant {

struct EqualizeOutcome {
  std::unique_ptr<Model> model;               // null when no pair was equalized
  std::vector<EqualizationRecord> records;    // every candidate pair, in graph order
  std::vector<std::string> transformations;   // one line per equalized pair
  std::vector<std::string> warnings;          // when the check refused the rewrite
};

// Errors: the calibration data's when it does not fit the model (read for
// the check); Model::FromProto's. A failed or impossible check is no error:
// it is recorded.
Result<EqualizeOutcome> EqualizeConvPairs(const Model& prepared, const QuantizeOptions& options,
                                          double tolerance = kEquivalenceTolerance);

}  // namespace pq::quant

#endif  // PQ_QUANT_EQUALIZE_STAGE_H_
