// ChannelMaxCollector: max |x| per last-axis channel of chosen activations,
// gathered as an executor Observer over the calibration data (SmoothQuant's
// activation magnitudes). Every element of every run counts.
#ifndef PQ_QUANT_CHANNEL_MAX_COLLECTOR_H_
#define PQ_QUANT_CHANNEL_MAX_COLLECTOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "pq/executor.h"
#include "pq/status.h"

namespace pq::quant {

class ChannelMaxCollector : public Observer {
 public:
  // `channels`: activation name -> its last-axis size K.
  explicit ChannelMaxCollector(const std::map<std::string, int64_t>& channels);
  void OnTensor(const std::string& name, const Tensor& value) override;
  // The activations not seen yet.
  std::vector<std::string> Missing() const;
  // Max |x| per channel of each activation. Errors (kInvalidInput, naming
  // it): an activation never observed, or observed not float or with a last
  // axis other than K.
  Result<std::map<std::string, std::vector<float>>> Results() const;

 private:
  std::map<std::string, int64_t> k_;
  std::map<std::string, std::vector<float>> max_;
  std::map<std::string, bool> seen_;
  std::map<std::string, std::string> problems_;
};

}  // namespace pq::quant

#endif  // PQ_QUANT_CHANNEL_MAX_COLLECTOR_H_
