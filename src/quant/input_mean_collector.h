// InputMeanCollector: the mean of each layer's input as its weight
// multiplies it, gathered as an executor Observer over the calibration data
// (bias correction's E[x], bias_correction.h). Every element of every run
// counts.
#ifndef PQ_QUANT_INPUT_MEAN_COLLECTOR_H_
#define PQ_QUANT_INPUT_MEAN_COLLECTOR_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pq/executor.h"
#include "pq/status.h"
#include "quant/bias_correction.h"

namespace pq::quant {

// One layer's input: `tensor`, read by a MatMul/Gemm (mean over every axis
// but the last, which has `features` values) or, when `conv` is set, by a
// 2-D Conv (mean of each (channel, kernel tap), AddConvPatchSums).
struct MeanTap {
  std::string tensor;
  int64_t features = 0;
  std::optional<ConvGeometry> conv;
};

class InputMeanCollector : public Observer {
 public:
  explicit InputMeanCollector(std::vector<MeanTap> taps);
  void OnTensor(const std::string& name, const Tensor& value) override;
  // Whether every tap has been seen at least once.
  bool AllSeen() const;
  // The means, one vector per tap in order. Errors (kInvalidInput, naming
  // the tensor): a tap never observed, observed not float32 or in another
  // shape than its layer reads, or whose mean is NaN or Inf.
  Result<std::vector<std::vector<double>>> Means() const;

 private:
  std::vector<MeanTap> taps_;
  std::vector<std::vector<double>> sums_;
  std::vector<int64_t> counts_;
  std::map<std::string, std::string> problems_;
};

}  // namespace pq::quant

#endif  // PQ_QUANT_INPUT_MEAN_COLLECTOR_H_
