// Scheme: one quantization scheme (int8-sym, int8-asym, nf4, ...). A scheme
// computes parameters and quantized values from FP32 data; it never touches
// protobuf. Schemes are registered in one table (scheme_registry.cc).
#ifndef PQ_QUANT_SCHEME_H_
#define PQ_QUANT_SCHEME_H_

#include <memory>
#include <string>
#include <vector>

#include "pq/quant_params.h"
#include "pq/status.h"

namespace pq::quant {

// A weight handed to a scheme: FP32 values in row-major order.
struct WeightView {
  std::string name;
  const float* data = nullptr;
  std::vector<int64_t> shape;
  int64_t channel_axis = -1;  // per-channel axis, or -1 for per-tensor
};

// A scheme's quantized weight: parameters and the values to store, packed
// as the model's raw_data of params.dtype.
struct QuantizedWeight {
  QuantParams params;
  std::string data;
  std::vector<float> dequantized;  // what DequantizeLinear will give back
};

class Scheme {
 public:
  virtual ~Scheme() = default;
  virtual const char* Name() const = 0;
  // One line for `pq schemes` and --help.
  virtual const char* Summary() const = 0;
  // Whether static quantization of activations applies (int8 yes, nf4 no).
  virtual bool QuantizesActivations() const = 0;
  // The integer grid activations use (for calibrators that optimise for it).
  virtual int32_t ActivationType() const = 0;
  virtual int64_t ActivationQmin() const = 0;
  virtual int64_t ActivationQmax() const = 0;
  virtual bool ActivationSymmetric() const = 0;
  // Per-tensor activation parameters for the real range [min, max]
  // (REQUIRES min <= 0 <= max).
  virtual QuantParams ActivationParams(float min, float max) const = 0;
  // Quantizes a weight. Errors (kInvalidInput): NaN or Inf in the weight,
  // naming the tensor.
  virtual Result<QuantizedWeight> QuantizeWeight(const WeightView& weight) const = 0;
};

// Choices a scheme may offer beyond its defaults.
struct SchemeOptions {
  // int8-asym: int8 weights with zero point 0 (uint8 activations keep theirs).
  bool symmetric_weights = false;
};

// A registry row: the scheme's name and how to make it.
struct SchemeEntry {
  const char* name;
  std::unique_ptr<Scheme> (*create)(const SchemeOptions& options);
};

// Every registered scheme, in `pq schemes` order.
const std::vector<SchemeEntry>& SchemeTable();

// Returns the scheme named `name`. Errors: kInvalidArgument listing the names.
Result<std::unique_ptr<Scheme>> MakeScheme(const std::string& name,
                                           const SchemeOptions& options = {});

std::unique_ptr<Scheme> MakeInt8SymmetricScheme(const SchemeOptions& options = {});
std::unique_ptr<Scheme> MakeInt8AsymmetricScheme(const SchemeOptions& options = {});

}  // namespace pq::quant

#endif  // PQ_QUANT_SCHEME_H_
