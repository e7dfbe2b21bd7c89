// The float types whose weights pq quantizes (float32, float16, bfloat16),
// read as float32 for the quantizers, and the model's float type written back
// for the parameters the dequantized side reads (scales, codebooks, Gemm's
// alpha and beta), so that a float16 model stays a float16 model.
#ifndef PQ_QUANT_FLOAT_TYPE_H_
#define PQ_QUANT_FLOAT_TYPE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "pq/model.h"

namespace pq::quant {

// Default-domain opset from which QuantizeLinear/DequantizeLinear take
// float16 and bfloat16 scales (and QuantizeLinear float16 inputs).
constexpr int64_t kHalfQdqOpset = 19;

// True for float32, float16 and bfloat16: the weight types pq quantizes.
bool IsQuantizableFloat(int32_t dtype);

// The values of `c` as float32 (exact: every float16 and bfloat16 is a
// float). REQUIRES: IsQuantizableFloat(c.data_type), c.data set.
std::vector<float> ReadFloats(const ConstantTensor& c);

// `values` as raw_data of `dtype` (float32, or rounded to nearest, ties to
// even, for float16 and bfloat16). REQUIRES: IsQuantizableFloat(dtype).
std::string FloatRaw(const std::vector<float>& values, int32_t dtype);

// `values` rounded to what `dtype` holds (the identity for float32): the
// numbers a model of that type reads back from FloatRaw.
std::vector<float> RoundedTo(std::vector<float> values, int32_t dtype);

}  // namespace pq::quant

#endif  // PQ_QUANT_FLOAT_TYPE_H_
