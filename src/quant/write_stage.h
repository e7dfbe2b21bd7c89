// The Write stage: the decisions written into the prepared model (through
// WriteQdq and the constant-writer table), and each decision's record told
// the names of what was written for it.
#ifndef PQ_QUANT_WRITE_STAGE_H_
#define PQ_QUANT_WRITE_STAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "pq/model.h"
#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/decide.h"

namespace pq::quant {

// Returns the quantized model (its origin: `origin` + " (quantized)") and
// appends to `records` the constants' records, then the activations', in
// decision order. Errors: the writers' (kInternal, kNotSupported), or
// kInvalidInput when the written model does not load.
Result<std::unique_ptr<Model>> WriteDecisions(const Model& prepared, Decisions decisions,
                                              const std::string& origin,
                                              std::vector<QuantizedTensorRecord>* records);

}  // namespace pq::quant

#endif  // PQ_QUANT_WRITE_STAGE_H_
