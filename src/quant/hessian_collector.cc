#include "quant/hessian_collector.h"

#include <omp.h>

#include <Eigen/Core>
#include <algorithm>

#include "pq/data_type.h"

namespace pq::quant {
namespace {

// X^T X is summed in square tiles of this many features, each tile its own
// unit of parallel work over a fixed list: no sum depends on the threads.
constexpr int64_t kTile = 64;
// Rows converted to double at a time (bounds the copy to 8 * K * kRowChunk
// bytes).
constexpr int64_t kRowChunk = 1024;

using RowMajorFloat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

void InputHessian::Merge(const InputHessian& other) {
  if (other.rows == 0) return;
  if (rows == 0 && xtx.size() == 0) {
    *this = other;
    return;
  }
  xtx += other.xtx;
  // A sum built without magnitudes (abs_sum empty) leaves them unknown.
  if (abs_sum.size() == other.abs_sum.size()) {
    abs_sum += other.abs_sum;
  } else {
    abs_sum.resize(0);
  }
  rows += other.rows;
}

HessianCollector::HessianCollector(const std::vector<HessianInput>& inputs, int threads) : threads_(threads) {
  for (const HessianInput& in : inputs) {
    if (sums_.count(in) != 0) continue;
    wanted_.emplace(in.tensor, in);
    InputHessian& h = sums_[in];
    h.xtx = Eigen::MatrixXd::Zero(in.k, in.k);
    h.abs_sum = Eigen::VectorXd::Zero(in.k);
  }
}

void HessianCollector::OnTensor(const std::string& name, const Tensor& value) {
  auto [first, last] = wanted_.equal_range(name);
  for (auto it = first; it != last; ++it) {
    const HessianInput& in = it->second;
    if (value.dtype() != kFloat) {
      problems_[name] = "is " + DataTypeName(value.dtype()) + ", not float";
      continue;
    }
    const std::vector<int64_t>& shape = value.shape();
    const bool fits = in.transposed ? shape.size() == 2 && shape[0] == in.k
                                    : !shape.empty() && shape.back() == in.k;
    if (!fits) {
      problems_[name] = "has shape " + ShapeText(shape) + " where " +
                        (in.transposed ? "[K, M]" : "[..., K]") + " with K = " + std::to_string(in.k) +
                        " was expected";
      continue;
    }
    Accumulate(value.data<float>(), in.k == 0 ? 0 : value.size() / in.k, in.k, in.transposed, &sums_[in]);
  }
}

void HessianCollector::Accumulate(const float* values, int64_t rows, int64_t k, bool transposed,
                                  InputHessian* h) const {
  h->rows += rows;
  if (rows == 0 || k == 0) return;
  // Eigen single-threaded: its own GEMM threading would change the blocking,
  // and so the rounding, with the thread count.
  Eigen::setNbThreads(1);
  const int threads = threads_ > 0 ? threads_ : omp_get_max_threads();
  std::vector<std::pair<int64_t, int64_t>> tiles;  // lower triangle, (row, col) tile starts
  for (int64_t i = 0; i < k; i += kTile) {
    for (int64_t j = 0; j <= i; j += kTile) tiles.emplace_back(i, j);
  }
  const Eigen::Map<const RowMajorFloat> stored(values, transposed ? k : rows, transposed ? rows : k);
  for (int64_t r0 = 0; r0 < rows; r0 += kRowChunk) {
    const int64_t count = std::min(kRowChunk, rows - r0);
    const Eigen::MatrixXd x = transposed ? Eigen::MatrixXd(stored.middleCols(r0, count).transpose().cast<double>())
                                         : Eigen::MatrixXd(stored.middleRows(r0, count).cast<double>());
    h->abs_sum += x.cwiseAbs().colwise().sum().transpose();
    const int64_t tile_count = static_cast<int64_t>(tiles.size());
#pragma omp parallel for num_threads(threads) schedule(dynamic) if (threads > 1 && tile_count > 1)
    for (int64_t t = 0; t < tile_count; ++t) {
      const auto [i, j] = tiles[static_cast<size_t>(t)];
      const int64_t ti = std::min(kTile, k - i), tj = std::min(kTile, k - j);
      h->xtx.block(i, j, ti, tj).noalias() += x.middleCols(i, ti).transpose() * x.middleCols(j, tj);
    }
  }
  // Mirror the lower triangle.
  for (int64_t j = 1; j < k; ++j) {
    for (int64_t i = 0; i < j; ++i) h->xtx(i, j) = h->xtx(j, i);
  }
}

std::vector<std::string> HessianCollector::Missing() const {
  std::vector<std::string> missing;
  for (const auto& [in, h] : sums_) {
    if (h.rows == 0 && (missing.empty() || missing.back() != in.tensor)) missing.push_back(in.tensor);
  }
  return missing;
}

Status HessianCollector::Check() const {
  for (const auto& [name, problem] : problems_) {
    return Status::InvalidInput("layer input '" + name + "' " + problem +
                                ": its X^T X for weight rounding cannot be summed");
  }
  const std::vector<std::string> missing = Missing();
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "'" : ", '") + m + "'";
    return Status::InvalidInput("layer inputs never observed with data (no rows) while summing X^T X "
                                "for weight rounding: " + list);
  }
  return Status::OK();
}

Result<std::map<HessianInput, InputHessian>> HessianCollector::Results() const {
  PQ_RETURN_IF_ERROR(Check());
  return sums_;
}

Result<std::map<HessianInput, InputHessian>> HessianCollector::Take() {
  PQ_RETURN_IF_ERROR(Check());
  std::map<HessianInput, InputHessian> taken = std::move(sums_);
  sums_.clear();
  return taken;
}

}  // namespace pq::quant
