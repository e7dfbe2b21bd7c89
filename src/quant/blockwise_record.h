// Helpers of the quantize pipeline for blockwise 4-bit weights: the [N, K]
// view a blockwise scheme quantizes, and the report facts of what was
// written.
#ifndef PQ_QUANT_BLOCKWISE_RECORD_H_
#define PQ_QUANT_BLOCKWISE_RECORD_H_

#include <vector>

#include "pq/model.h"
#include "pq/quantize.h"
#include "quant/scheme.h"

namespace pq::quant {

// Returns the 2-D float constant `c` as a row-major [N, K] matrix:
// transposed from [K, N] when `transposed`, else as stored.
// REQUIRES: c is a 2-D float tensor.
std::vector<float> NkValues(const ConstantTensor& c, bool transposed);

// Fills the blockwise facts of `record` (storage type, written form, stored
// bytes, double quantization) from `q` (REQUIRES q.blockwise).
void RecordBlockwise(const QuantizedWeight& q, WeightEncoding encoding,
                     QuantizedTensorRecord* record);

}  // namespace pq::quant

#endif  // PQ_QUANT_BLOCKWISE_RECORD_H_
