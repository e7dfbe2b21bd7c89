#include "quant/blockwise_record.h"

#include <algorithm>
#include <cstring>

#include "pq/data_type.h"
#include "quant/constant_writers.h"
#include "quant/float_type.h"
#include "quant/transpose.h"

namespace pq::quant {

std::vector<float> NkValues(const ConstantTensor& c, bool transposed) {
  const int64_t rows = c.dims.at(0), cols = c.dims.at(1);  // as stored
  std::vector<float> out(static_cast<size_t>(rows * cols));
  std::vector<float> widened;  // float16 / bfloat16 values as float32
  if (c.data_type != kFloat) {
    widened = ReadFloats(c);
    if (!transposed) return widened;
  }
  const void* src = widened.empty() ? static_cast<const void*>(c.data) : static_cast<const void*>(widened.data());
  if (!transposed) {
    if (!out.empty()) std::memcpy(out.data(), src, out.size() * sizeof(float));
    return out;
  }
  // Stored [K, N] (rows = K, cols = N); out[n * K + k] = stored[k * N + n].
  TransposeFloats(src, rows, cols, out.data());
  return out;
}

void RecordBlockwise(const QuantizedWeight& q, WeightEncoding encoding,
                     QuantizedTensorRecord* record) {
  const BlockwisePacked& p = *q.blockwise;
  record->storage_type = q.storage_type;
  record->written_form = ConstantWriterFor(encoding).form;
  // Scales are written in the weight's float type (record->from_dtype).
  const size_t scale_bytes = record->from_dtype == kFloat ? sizeof(float) : sizeof(uint16_t);
  int64_t bytes = static_cast<int64_t>(p.codes.size() + p.scales.size() * scale_bytes + p.zero_points.size());
  if (encoding == WeightEncoding::kBlockedDequantizeLinear) {
    // INT4/UINT4 tensors of the weight's and the scale's element counts,
    // two per byte, without MatMulNBits' row padding.
    const int64_t scales = static_cast<int64_t>(p.scales.size());
    bytes = (p.n * p.k + 1) / 2 + scales * static_cast<int64_t>(scale_bytes) +
            (p.zero_points.empty() ? 0 : (scales + 1) / 2);
  }
  if (encoding == WeightEncoding::kGatherBlockQuantized) {
    // Rows of k / 2 bytes without MatMulNBits' padding to whole blocks.
    bytes = p.n * ((p.k + 1) / 2) + static_cast<int64_t>(p.scales.size() * scale_bytes + p.zero_points.size());
  }
  if (p.double_quant) {
    const ScaleDoubleQuant& dq = *p.double_quant;
    bytes += static_cast<int64_t>(dq.codes.size() + (dq.scales.size() + 1) * scale_bytes);
    QuantizedTensorRecord::DoubleQuant d;
    d.block_size = dq.block_size;
    d.offset = dq.offset;
    d.codes = dq.codes;
    d.scales = dq.scales;
    record->double_quant = std::move(d);
  }
  record->stored_bytes = bytes;
}

}  // namespace pq::quant
