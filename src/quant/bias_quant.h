// Bias quantization for statically quantized Conv/Gemm: int32 values with
// scale = input activation scale x weight scale (per output channel when the
// weight is per channel) and zero point 0, as ONNX Runtime's QLinearConv and
// QGemm read them.
#ifndef PQ_QUANT_BIAS_QUANT_H_
#define PQ_QUANT_BIAS_QUANT_H_

#include <cstdint>
#include <string>

#include "pq/quant_params.h"
#include "pq/status.h"
#include "quant/scheme.h"

namespace pq::quant {

// Quantizes `count` bias values. `axis` >= 0: one scale per value (the
// weight's channels); -1: one scale. REQUIRES: `input` per tensor; `weight`
// has one scale, or one per bias value.
// Errors (kInvalidInput), naming `name`: NaN or Inf in the bias; a scale that
// is 0 or subnormal (the product of two tiny scales underflowed).
Result<QuantizedWeight> QuantizeBias(const std::string& name, const float* values, size_t count,
                                     int64_t axis, const QuantParams& input, const QuantParams& weight);

}  // namespace pq::quant

#endif  // PQ_QUANT_BIAS_QUANT_H_
