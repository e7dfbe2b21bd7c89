#include "calib/kl_divergence.h"

#include <cmath>
#include <limits>

namespace pq::calib {
namespace {

double XLogX(double x) { return x > 0 ? x * std::log(x) : 0.0; }

}  // namespace

KlDivergence::KlDivergence(const LineHistogram& line, int64_t levels)
    : counts_(line.counts), levels_(levels) {
  const size_t n = counts_.size();
  prefix_count_.assign(n + 1, 0.0);
  prefix_nonzero_.assign(n + 1, 0.0);
  prefix_xlogx_.assign(n + 1, 0.0);
  for (size_t u = 0; u < n; ++u) {
    prefix_count_[u + 1] = prefix_count_[u] + counts_[u];
    prefix_nonzero_[u + 1] = prefix_nonzero_[u] + (counts_[u] > 0 ? 1.0 : 0.0);
    prefix_xlogx_[u + 1] = prefix_xlogx_[u] + XLogX(counts_[u]);
  }
  total_ = prefix_count_[n];
}

double KlDivergence::operator()(int64_t a, int64_t b) const {
  const auto at = [](const std::vector<double>& v, int64_t u) { return v[static_cast<size_t>(u)]; };
  const int64_t n = b - a;
  const double left = at(prefix_count_, a);
  const double right = total_ - at(prefix_count_, b);
  const double window = at(prefix_count_, b) - left;  // total of Q before normalising
  if (window <= 0) return std::numeric_limits<double>::infinity();
  const double first = Count(a) + left;  // P at the window's edges
  const double last = Count(b - 1) + right;

  // sum over the window of P log P, with the two edge bins folded.
  double p_log_p = at(prefix_xlogx_, b) - at(prefix_xlogx_, a);
  p_log_p += XLogX(first) - XLogX(Count(a)) + XLogX(last) - XLogX(Count(b - 1));

  // sum over the window of P log Q, one group at a time: within a group every
  // bin where P > 0 holds Q = group total / non-empty bins.
  double p_log_q = 0;
  for (int64_t g = 0; g < levels_; ++g) {
    const int64_t s = a + (g * n + levels_ - 1) / levels_;
    const int64_t e = a + ((g + 1) * n + levels_ - 1) / levels_;
    if (s >= e) continue;
    const double q_total = at(prefix_count_, e) - at(prefix_count_, s);
    double p_total = q_total;
    double nonzero = at(prefix_nonzero_, e) - at(prefix_nonzero_, s);
    if (s == a && left > 0) {
      p_total += left;
      nonzero += Count(a) > 0 ? 0.0 : 1.0;
    }
    if (e == b && right > 0) {
      p_total += right;
      nonzero += Count(b - 1) > 0 ? 0.0 : 1.0;
    }
    if (p_total <= 0) continue;
    if (q_total <= 0) return std::numeric_limits<double>::infinity();
    p_log_q += p_total * std::log(q_total / nonzero);
  }
  // sum p log(p / q) with p = P / total, q = Q / window.
  return (p_log_p - p_log_q) / total_ - std::log(total_) + std::log(window);
}

}  // namespace pq::calib
