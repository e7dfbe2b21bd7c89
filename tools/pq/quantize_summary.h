// What `pq quantize` prints on stdout for an ONNX output.
#ifndef PQ_TOOLS_QUANTIZE_SUMMARY_H_
#define PQ_TOOLS_QUANTIZE_SUMMARY_H_

#include "pq/quantize_job.h"

namespace pq::cli {

// Prints where the model, its external data and report went, what was
// quantized and the sizes before and after: as a JSON object with `json`,
// else as three lines. `seconds` is the wall time of the whole command.
void PrintQuantizeSummary(const QuantizeJobResult& r, const QuantizeOptions& q, bool json, double seconds);

}  // namespace pq::cli

#endif  // PQ_TOOLS_QUANTIZE_SUMMARY_H_
