#include "quant/bias_quant.h"

#include <climits>
#include <cmath>
#include <cstring>
#include <vector>

#include "pq/data_type.h"
#include "quant/linear_quant.h"

namespace pq::quant {

Result<QuantizedWeight> QuantizeBias(const std::string& name, const float* values, size_t count,
                                     int64_t axis, const QuantParams& input, const QuantParams& weight) {
  QuantizedWeight q;
  q.params.dtype = kInt32;
  q.params.axis = axis;
  q.params.scale.resize(axis >= 0 ? count : 1);
  for (size_t i = 0; i < q.params.scale.size(); ++i) {
    const float w = weight.scale[weight.scale.size() == 1 ? 0 : i];
    q.params.scale[i] = input.scale[0] * w;
    if (!std::isnormal(q.params.scale[i])) {
      return Status::InvalidInput("bias '" + name + "': its scale, input scale " +
                                  std::to_string(input.scale[0]) + " x weight scale " + std::to_string(w) +
                                  ", is not a normal float32 (too small to quantize the bias)");
    }
  }
  q.params.zero_point.assign(q.params.scale.size(), 0);
  q.data.resize(count * 4);
  std::vector<float> dequantized(count);
  for (size_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) return Status::InvalidInput("bias '" + name + "' holds NaN or Inf");
    const float s = q.params.scale[axis >= 0 ? i : 0];
    const int32_t v32 = static_cast<int32_t>(QuantizeValue(values[i], s, 0, INT32_MIN, INT32_MAX));
    std::memcpy(&q.data[i * 4], &v32, 4);
    dequantized[i] = static_cast<float>(v32) * s;
  }
  q.error = ComputeErrorMetrics(values, dequantized.data(), static_cast<int64_t>(count));
  return q;
}

}  // namespace pq::quant
