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
#include <map>
#include <string>
#include <vector>

#include "quant/decide.h"

namespace pq::quant {

// Returns the quantized model (its origin: `origin` + " (quantized)") and
// appends to `records` the constants' records, then the activations', in
// decision order. With `shared` (the main graph's write, after the bodies
// were written), constants that bodies and their enclosing graphs hold alike
// are stored once (ShareBodyConstants): `shared` receives the dropped names
// with the names read instead, and `records` name what was kept (the
// caller renames the bodies' records). Errors: the writers' (kInternal,
// kNotSupported), or kInvalidInput when the written model does not load.
Result<std::unique_ptr<Model>> WriteDecisions(const Model& prepared, Decisions decisions,
                                              const std::string& origin,
                                              std::vector<QuantizedTensorRecord>* records,
                                              std::map<std::string, std::string>* shared = nullptr);

}  // namespace pq::quant

#endif  // PQ_QUANT_WRITE_STAGE_H_
