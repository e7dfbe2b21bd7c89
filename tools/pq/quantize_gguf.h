// The GGUF export of `pq quantize` (OUT.gguf with a gguf-* scheme).
#ifndef PQ_TOOLS_QUANTIZE_GGUF_H_
#define PQ_TOOLS_QUANTIZE_GGUF_H_

#include <cstdint>

#include "pq/quantize_job.h"

namespace pq::cli {

// Runs a GGUF export of `flags` (the quantize flags as parsed; the ONNX-only
// ones — --validate, --auto-fallback, --junit, --external-data, --calib-stats
// — and --equalize, --bias-correction are refused with exit 2 rather than
// ignored), prints where the file and
// report went (a JSON summary with `json`) and returns the exit code.
int RunGgufQuantize(const QuantizeJob& flags, int64_t context_length, bool json,
                    const QuantizeJobEvents& events);

}  // namespace pq::cli

#endif  // PQ_TOOLS_QUANTIZE_GGUF_H_
