#include "quant/input_mean_collector.h"

#include <cmath>
#include <utility>

#include "pq/data_type.h"

namespace pq::quant {

InputMeanCollector::InputMeanCollector(std::vector<MeanTap> taps)
    : taps_(std::move(taps)), sums_(taps_.size()), counts_(taps_.size(), 0) {}

void InputMeanCollector::OnTensor(const std::string& name, const Tensor& value) {
  for (size_t t = 0; t < taps_.size(); ++t) {
    const MeanTap& tap = taps_[t];
    if (tap.tensor != name) continue;
    if (value.dtype() != kFloat) {
      problems_[name] = "is " + DataTypeName(value.dtype()) + ", not float";
      continue;
    }
    if (tap.conv) {
      Result<int64_t> positions = AddConvPatchSums(value.data<float>(), value.shape(), *tap.conv, &sums_[t]);
      if (!positions.ok()) {
        problems_[name] = positions.status().message();
        continue;
      }
      counts_[t] += positions.value();
      continue;
    }
    const int64_t k = tap.features;
    if (value.shape().empty() || value.shape().back() != k) {
      problems_[name] = "does not have " + std::to_string(k) + " features on its last axis";
      continue;
    }
    sums_[t].resize(static_cast<size_t>(k), 0.0);
    const float* x = value.data<float>();
    const int64_t rows = k == 0 ? 0 : value.size() / k;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t j = 0; j < k; ++j) sums_[t][static_cast<size_t>(j)] += x[r * k + j];
    }
    counts_[t] += rows;
  }
}

bool InputMeanCollector::AllSeen() const {
  for (int64_t c : counts_) {
    if (c == 0) return false;
  }
  return problems_.empty();
}

Result<std::vector<std::vector<double>>> InputMeanCollector::Means() const {
  for (const auto& [name, problem] : problems_) {
    return Status::InvalidInput("layer input '" + name + "' " + problem + ": its mean for --bias-correction "
                                "cannot be measured");
  }
  std::vector<std::vector<double>> means(taps_.size());
  for (size_t t = 0; t < taps_.size(); ++t) {
    if (counts_[t] == 0) {
      return Status::InvalidInput("layer input '" + taps_[t].tensor +
                                  "' was never observed with data while measuring --bias-correction's means");
    }
    for (double s : sums_[t]) {
      const double m = s / static_cast<double>(counts_[t]);
      if (!std::isfinite(m)) {
        return Status::InvalidInput("layer input '" + taps_[t].tensor + "' is NaN or Inf on the calibration data");
      }
      means[t].push_back(m);
    }
  }
  return means;
}

}  // namespace pq::quant
