#include "quant/gptq_solver.h"

#include <omp.h>

#include <Eigen/Cholesky>
#include <algorithm>
#include <cstdio>
#include <numeric>
#include <string>

#include "util/json_number.h"

namespace pq::quant {
namespace {

// Rows per unit of parallel work: fixed, so no result depends on threads.
constexpr int64_t kRowsPerTask = 32;

int Threads(int threads) { return threads > 0 ? threads : omp_get_max_threads(); }

}  // namespace

int64_t LazyBatchFor(int64_t lazy_batch, int64_t block_size) {
  return std::max<int64_t>(1, (std::max(lazy_batch, block_size) + block_size - 1) / block_size) * block_size;
}

Result<GptqFactor> FactorHessian(Eigen::MatrixXd h, double damp) {
  if (!h.allFinite()) {
    return Status::InvalidInput("X^T X holds non-finite values (the layer input held Inf or NaN, or its "
                                "squares overflowed)");
  }
  GptqFactor f;
  const int64_t k = h.rows();
  for (int64_t j = 0; j < k; ++j) {
    if (h(j, j) == 0) {
      h(j, j) = 1;
      ++f.dead_inputs;
    }
  }
  f.lambda = k > 0 ? damp * h.diagonal().mean() : 0.0;
  h.diagonal().array() += f.lambda;
  // Eigen single-threaded: its own threading would make the rounding depend
  // on the thread count.
  Eigen::setNbThreads(1);
  // With J the reversal, J H J = L L^T gives H^-1 = U^T U for U = J L^-1 J,
  // upper triangular: one factorization and one triangular inverse.
  const Eigen::LLT<Eigen::MatrixXd> llt(h.reverse());
  if (llt.info() != Eigen::Success) {
    return Status::InvalidInput("X^T X + lambda I is not positive definite with lambda = " + MessageNumber(f.lambda) +
                                " (--gptq-damp " + MessageNumber(damp) + "): still singular after dampening");
  }
  Eigen::MatrixXd linv = Eigen::MatrixXd::Identity(k, k);
  llt.matrixL().solveInPlace(linv);
  f.u = linv.reverse();
  f.u.triangularView<Eigen::StrictlyLower>().setZero();
  if (!f.u.allFinite() || (f.u.diagonal().array() <= 0).any()) {
    return Status::InvalidInput("the inverse of X^T X + lambda I with lambda = " + MessageNumber(f.lambda) +
                                " is not finite: still singular after dampening");
  }
  return f;
}

std::vector<int64_t> ActOrder(const Eigen::MatrixXd& h) {
  std::vector<int64_t> order(static_cast<size_t>(h.rows()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return h(a, a) > h(b, b); });
  return order;
}

Eigen::MatrixXd Permuted(const Eigen::MatrixXd& h, const std::vector<int64_t>& order) {
  const int64_t k = static_cast<int64_t>(order.size());
  Eigen::MatrixXd p(k, k);
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t i = 0; i < k; ++i) p(i, j) = h(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
  }
  return p;
}

GptqRounded GptqRound(const WeightGrid& grid, const float* w, int64_t n, int64_t k,
                      const GptqFactor& factor, const std::vector<int64_t>& order, const GptqSettings& settings) {
  const int64_t bs = grid.RowBlockLength(k);
  GptqRounded out;
  // Static groups: every block's parameters from the original weights.
  out.static_groups = settings.act_order || bs == 0 || bs >= k;
  const int64_t lazy = out.static_groups ? std::max<int64_t>(1, settings.lazy_batch)
                                         : LazyBatchFor(settings.lazy_batch, bs);
  out.lazy_batch = lazy;
  std::vector<int64_t> perm = order;
  if (perm.empty()) {
    perm.resize(static_cast<size_t>(k));
    std::iota(perm.begin(), perm.end(), 0);
  }
  const RowMajorMatrixXd& u = factor.u;
  out.values.resize(static_cast<size_t>(n * k));
  out.params = out.static_groups ? grid.FitBlocks(w, n, k)
                                 : std::vector<BlockParams>(static_cast<size_t>(grid.BlockCount(n, k)));
  Eigen::setNbThreads(1);
  const int64_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
#pragma omp parallel for num_threads(Threads(settings.threads)) schedule(dynamic) if (tasks > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t r0 = task * kRowsPerTask, rows = std::min(kRowsPerTask, n - r0);
    RowMajorMatrixXd work(rows, k);
    for (int64_t i = 0; i < rows; ++i) {
      for (int64_t j = 0; j < k; ++j) work(i, j) = w[(r0 + i) * k + perm[static_cast<size_t>(j)]];
    }
    RowMajorMatrixXd err(rows, lazy);
    std::vector<float> block(static_cast<size_t>(out.static_groups ? 0 : bs));
    for (int64_t i1 = 0; i1 < k; i1 += lazy) {
      const int64_t i2 = std::min(k, i1 + lazy), width = i2 - i1;
      for (int64_t j = i1; j < i2; ++j) {
        if (!out.static_groups && j % bs == 0) {
          // The block's parameters from its weights as updated so far (the
          // whole block lies in this lazy batch, so they hold every update).
          const int64_t len = std::min(bs, k - j);
          for (int64_t i = 0; i < rows; ++i) {
            for (int64_t t = 0; t < len; ++t) block[static_cast<size_t>(t)] = static_cast<float>(work(i, j + t));
            out.params[static_cast<size_t>(grid.BlockOf(r0 + i, j, k))] = grid.FitBlock(block.data(), len);
          }
        }
        const int64_t column = perm[static_cast<size_t>(j)];
        const double d = u(j, j);
        for (int64_t i = 0; i < rows; ++i) {
          const BlockParams& p = out.params[static_cast<size_t>(grid.BlockOf(r0 + i, column, k))];
          const double value = work(i, j);
          const float q = grid.RoundToGrid(static_cast<float>(value), p);
          out.values[static_cast<size_t>((r0 + i) * k + column)] = q;
          const double e = (value - q) / d;
          err(i, j - i1) = e;
          if (j + 1 < i2) work.row(i).segment(j + 1, i2 - j - 1) -= e * u.row(j).segment(j + 1, i2 - j - 1);
        }
      }
      if (i2 < k) work.rightCols(k - i2).noalias() -= err.leftCols(width) * u.block(i1, i2, width, k - i2);
    }
  }
  return out;
}

std::vector<double> OutputErrorTraces(const float* w, const std::vector<const float*>& qs, int64_t n, int64_t k,
                                      const Eigen::MatrixXd& h, int threads) {
  const int64_t tasks = (n + kRowsPerTask - 1) / kRowsPerTask;
  const size_t m = qs.size();
  // Per task: tr(W H W^T), then tr(D H D^T) for each q; summed in task order.
  std::vector<std::vector<double>> sums(static_cast<size_t>(tasks), std::vector<double>(m + 1, 0.0));
  Eigen::setNbThreads(1);
#pragma omp parallel for num_threads(Threads(threads)) schedule(dynamic) if (tasks > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t r0 = task * kRowsPerTask, rows = std::min(kRowsPerTask, n - r0);
    const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> wf(w + r0 * k,
                                                                                                   rows, k);
    const RowMajorMatrixXd wd = wf.cast<double>();
    std::vector<double>& s = sums[static_cast<size_t>(task)];
    s[0] = (wd * h).cwiseProduct(wd).sum();
    for (size_t c = 0; c < m; ++c) {
      const Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> qf(
          qs[c] + r0 * k, rows, k);
      const RowMajorMatrixXd d = wd - qf.cast<double>();
      s[c + 1] = (d * h).cwiseProduct(d).sum();
    }
  }
  std::vector<double> total(m + 1, 0.0);
  for (const std::vector<double>& s : sums) {
    for (size_t c = 0; c <= m; ++c) total[c] += s[c];
  }
  return total;
}

std::optional<std::vector<double>> RelativeOutputErrors(const float* w, const std::vector<const float*>& qs,
                                                        int64_t n, int64_t k, const Eigen::MatrixXd& h,
                                                        int threads) {
  const std::vector<double> total = OutputErrorTraces(w, qs, n, k, h, threads);
  const size_t m = qs.size();
  if (!(total[0] > 0)) return std::nullopt;
  std::vector<double> out(m);
  for (size_t c = 0; c < m; ++c) out[c] = total[c + 1] / total[0];
  return out;
}

}  // namespace pq::quant
