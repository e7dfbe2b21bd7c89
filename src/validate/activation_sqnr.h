// Activation SQNR: how far chosen intermediate tensors of a quantized model
// are from the same tensors of an FP32 model, measured with executor
// Observers on both runs, batch by batch.
#ifndef PQ_SRC_VALIDATE_ACTIVATION_SQNR_H_
#define PQ_SRC_VALIDATE_ACTIVATION_SQNR_H_

#include <map>
#include <set>
#include <string>

#include "pq/dataset.h"
#include "pq/model.h"
#include "pq/status.h"

namespace pq::validate {

// Runs `reference` and `candidate` over every sample of `data` (`batch` per
// run) and returns the SQNR (dB, +inf when identical) of each tensor of
// `tensors` that both models produce as float with the same shape; others are
// absent from the result. Errors: the executor's and the dataset's.
Result<std::map<std::string, double>> ActivationSqnr(const Model& reference, const Model& candidate,
                                                     const Dataset& data, int64_t batch, int threads,
                                                     const std::set<std::string>& tensors);

}  // namespace pq::validate

#endif  // PQ_SRC_VALIDATE_ACTIVATION_SQNR_H_
