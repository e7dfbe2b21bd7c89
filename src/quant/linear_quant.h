// The scalar reference of linear (affine) quantization, shared by the int8
// schemes: exactly what ONNX QuantizeLinear/DequantizeLinear compute.
#ifndef PQ_QUANT_LINEAR_QUANT_H_
#define PQ_QUANT_LINEAR_QUANT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pq/quant_params.h"
#include "pq/status.h"
#include "quant/scheme.h"

namespace pq::quant {

// q = saturate(nearbyint(x / scale) + zero_point), in float as QuantizeLinear
// specifies (round half to even).
int64_t QuantizeValue(float x, float scale, int64_t zero_point, int64_t qmin, int64_t qmax);

// Scale and zero point for the real range [min, max] (widened to include 0)
// on the integer grid [qmin, qmax]. Symmetric: zero point 0 and
// scale = max(|min|, |max|) / qmax. A zero-width range gets scale 1.
void ChooseParams(float min, float max, int64_t qmin, int64_t qmax, bool symmetric, float* scale,
                  int64_t* zero_point);

// Quantizes `weight` per channel (weight.channel_axis) or per tensor to an
// 8-bit type: `dtype` int8 or uint8 on [qmin, qmax], symmetric or not.
// Errors: NaN/Inf in the weight (naming it).
Result<QuantizedWeight> QuantizeLinearWeight(const WeightView& weight, int32_t dtype, int64_t qmin,
                                             int64_t qmax, bool symmetric);

}  // namespace pq::quant

#endif  // PQ_QUANT_LINEAR_QUANT_H_
