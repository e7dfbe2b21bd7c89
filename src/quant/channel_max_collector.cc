#include "quant/channel_max_collector.h"

#include <algorithm>
#include <cmath>

#include "pq/data_type.h"

namespace pq::quant {

ChannelMaxCollector::ChannelMaxCollector(const std::map<std::string, int64_t>& channels) : k_(channels) {
  for (const auto& [name, k] : channels) {
    max_[name].assign(static_cast<size_t>(k), 0.0f);
    seen_[name] = false;
  }
}

void ChannelMaxCollector::OnTensor(const std::string& name, const Tensor& value) {
  auto it = k_.find(name);
  if (it == k_.end()) return;
  const int64_t k = it->second;
  if (value.dtype() != kFloat) {
    problems_[name] = "is " + DataTypeName(value.dtype()) + ", not float";
    return;
  }
  if (value.shape().empty() || value.shape().back() != k) {
    problems_[name] = "does not have " + std::to_string(k) + " channels on its last axis";
    return;
  }
  seen_[name] = true;
  std::vector<float>& m = max_[name];
  const float* x = value.data<float>();
  const int64_t rows = k == 0 ? 0 : value.size() / k;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < k; ++j) {
      // NaN propagates (std::max would drop it): the stage refuses it.
      const float v = std::fabs(x[r * k + j]);
      if (!(v <= m[static_cast<size_t>(j)])) m[static_cast<size_t>(j)] = v;
    }
  }
}

std::vector<std::string> ChannelMaxCollector::Missing() const {
  std::vector<std::string> missing;
  for (const auto& [name, seen] : seen_) {
    if (!seen) missing.push_back(name);
  }
  return missing;
}

Result<std::map<std::string, std::vector<float>>> ChannelMaxCollector::Results() const {
  for (const auto& [name, problem] : problems_) {
    return Status::InvalidInput("MatMul input '" + name + "' " + problem + ": its per-channel max for --smoothquant "
                                "cannot be measured");
  }
  const std::vector<std::string> missing = Missing();
  if (!missing.empty()) {
    return Status::InvalidInput("MatMul input '" + missing.front() +
                                "' was never observed with data while measuring --smoothquant's per-channel max");
  }
  return max_;
}

}  // namespace pq::quant
