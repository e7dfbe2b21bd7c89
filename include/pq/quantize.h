// Quantize: turns an FP32 model into a quantized one and records every
// parameter it chose. The records are the data model of the audit report:
// they hold exactly the values written into the model.
#ifndef PQ_QUANTIZE_H_
#define PQ_QUANTIZE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pq/calibration.h"
#include "pq/dataset.h"
#include "pq/model.h"
#include "pq/quant_params.h"
#include "pq/status.h"

namespace pq {

struct QuantizeOptions {
  // A name from Schemes().
  std::string scheme = "int8-sym";
  // Weights only: no calibration, activations stay float.
  bool weights_only = false;
  // Weights per output channel (true) or per tensor.
  bool per_channel = true;
  // int8-asym: weights with zero point 0 (what ONNX Runtime's fast uint8 x
  // int8 kernels need); activations keep their zero points.
  bool symmetric_weights = false;
  // Op types whose weights (and, statically, activations) are quantized.
  std::vector<std::string> op_types = {"Conv", "MatMul", "Gemm"};
  std::vector<std::string> exclude_nodes;
  std::vector<std::string> exclude_op_types;
  // Calibration data (files or folders) and how to use it.
  std::vector<std::string> calib_paths;
  CalibrationOptions calibration;  // its grid is set from the scheme
  int64_t calib_batch = 1;
  int64_t calib_samples = 0;  // 0 = all
  // Fold BatchNormalization into the Conv before it (as runtimes do).
  bool fold_batchnorm = true;
  int threads = 0;
};

enum class TensorRole { kWeight, kBias, kActivation };
const char* TensorRoleName(TensorRole role);

// A node that reads a quantized tensor.
struct ConsumerRef {
  std::string node;
  std::string op_type;
};

// One tensor pq quantized, as written into the model.
struct QuantizedTensorRecord {
  std::string name;        // the FP32 tensor
  TensorRole role = TensorRole::kWeight;
  std::vector<ConsumerRef> consumers;
  std::vector<int64_t> shape;  // constants only; activations: empty
  int32_t from_dtype = 1;
  std::string scheme;
  std::string granularity;  // "per-tensor", "per-channel", "per-block"
  QuantParams params;       // to_dtype = params.dtype
  std::optional<CalibratedRange> range;  // activations with their own range
  std::string shares_params_with;        // activations that reuse another's params
  std::optional<ErrorMetrics> error;     // constants: FP32 vs dequantized
  // Names written into the model.
  std::string quantized_name, scale_name, zero_point_name, dequantized_name;
};

// A node or tensor a scheme could have taken and did not.
struct SkippedRecord {
  std::string node;
  std::string op_type;
  std::string tensor;
  std::string reason;
};

struct QuantizeOutcome {
  std::unique_ptr<Model> model;  // the quantized model, not yet saved
  std::vector<QuantizedTensorRecord> tensors;
  std::vector<SkippedRecord> skipped;
  std::vector<std::string> transformations;  // e.g. BatchNormalization folding, opset conversion
  std::vector<std::string> warnings;
  std::vector<DatasetFile> calibration_files;
  int64_t calibration_samples = 0;
  int64_t calibration_batch = 0;
  int64_t nodes_quantized = 0;
  bool per_channel = true;  // false when per-axis was not possible
};

// Quantizes `model` as `options` say. `progress` (may be empty) reports
// calibration progress (samples done, total).
// Errors: kInvalidArgument (unknown scheme, a scheme that needs calibration
// without --calib), kInvalidInput (bad data, NaN/Inf weights naming the
// tensor), kNotSupported (an op the executor cannot run, opset < 10).
Result<QuantizeOutcome> Quantize(const Model& model, const QuantizeOptions& options,
                                 const std::function<void(int64_t, int64_t)>& progress);

// The registered schemes: (name, one-line summary), in table order.
std::vector<std::pair<std::string, std::string>> Schemes();

}  // namespace pq

#endif  // PQ_QUANTIZE_H_
