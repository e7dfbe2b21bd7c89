// Quantization parameters and the per-tensor facts pq records about them.
// The same values are written into the model and into the report.
#ifndef PQ_QUANT_PARAMS_H_
#define PQ_QUANT_PARAMS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pq {

// Linear quantization parameters: real = (q - zero_point) * scale.
// `axis` is -1 for per-tensor parameters (one scale), else the axis whose
// entries each have their own scale and zero point. `block_size` > 0 means
// blocks of that many elements along `axis` share a scale (blocked formats).
struct QuantParams {
  int32_t dtype = 0;  // ONNX type of the quantized values (int8, uint8, int32, ...)
  std::vector<float> scale;
  std::vector<int64_t> zero_point;
  int64_t axis = -1;
  int64_t block_size = 0;
};

// How far a dequantized tensor is from its FP32 original.
struct ErrorMetrics {
  double mse = 0;       // mean squared error
  double sqnr_db = 0;   // 10 log10(signal power / noise power); +inf when exact
  double max_abs = 0;   // largest absolute difference
  double cosine = 1;    // cosine similarity (1 when both are zero)
};

// Returns the error metrics between `original` and `dequantized` (`count`
// values each). NaN-free inputs give NaN-free metrics.
ErrorMetrics ComputeErrorMetrics(const float* original, const float* dequantized, int64_t count);

}  // namespace pq

#endif  // PQ_QUANT_PARAMS_H_
