#include "gguf/importance_collector.h"

#include "pq/data_type.h"

namespace pq::gguf {

std::vector<float> ColumnEnergy::Importance() const {
  std::vector<float> out(sum_squares.size(), 1.0f);
  if (rows == 0) return out;
  for (size_t k = 0; k < sum_squares.size(); ++k) {
    out[k] = static_cast<float>(sum_squares[k] / static_cast<double>(rows));
  }
  return out;
}

ImportanceCollector::ImportanceCollector(std::map<std::string, int64_t> wanted) : wanted_(std::move(wanted)) {}

void ImportanceCollector::OnTensor(const std::string& name, const Tensor& value) {
  auto it = wanted_.find(name);
  if (it == wanted_.end()) return;
  const int64_t k = it->second;
  if (value.dtype() != kFloat) {
    problems_[name] = "is " + DataTypeName(value.dtype()) + ", not float";
    return;
  }
  if (value.rank() == 0 || value.shape().back() != k) {
    problems_[name] = "has a last dim other than the weight's " + std::to_string(k) + " columns";
    return;
  }
  ColumnEnergy& e = sums_[name];
  if (e.sum_squares.empty()) e.sum_squares.assign(static_cast<size_t>(k), 0.0);
  const float* x = value.data<float>();
  const int64_t rows = value.size() / k;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * k;
    for (int64_t c = 0; c < k; ++c) e.sum_squares[static_cast<size_t>(c)] += static_cast<double>(row[c]) * row[c];
  }
  e.rows += rows;
}

Result<std::map<std::string, ColumnEnergy>> ImportanceCollector::Results() const {
  for (const auto& [name, k] : wanted_) {
    auto problem = problems_.find(name);
    if (problem != problems_.end()) {
      return Status::InvalidInput("activation '" + name + "' " + problem->second);
    }
    if (sums_.find(name) == sums_.end()) {
      return Status::InvalidInput("activation '" + name + "' was never computed on the calibration data");
    }
  }
  return sums_;
}

}  // namespace pq::gguf
