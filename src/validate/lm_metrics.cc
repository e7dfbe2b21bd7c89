#include "validate/lm_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "pq/data_type.h"

namespace pq::validate {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log(sum(exp(row))) in double; -inf for an all -inf row, NaN propagates.
double LogSumExp(const float* row, int64_t n) {
  double max = -kInf;
  for (int64_t v = 0; v < n; ++v) max = std::max(max, static_cast<double>(row[v]));
  if (std::isinf(max)) return max;
  double sum = 0;
  for (int64_t v = 0; v < n; ++v) sum += std::exp(static_cast<double>(row[v]) - max);
  return max + std::log(sum);
}

int64_t ArgMax(const float* row, int64_t n) {
  return std::max_element(row, row + n) - row;
}

// KL(p || q) for logits rows r and c with log-normalizers lr and lc; NaN
// (non-finite logits) becomes +inf, so that gates fail.
double KlDivergence(const float* r, double lr, const float* c, double lc, int64_t n) {
  double kl = 0;
  for (int64_t v = 0; v < n; ++v) {
    const double log_p = static_cast<double>(r[v]) - lr;
    if (std::isinf(log_p) && log_p < 0) continue;  // p = 0 adds nothing
    const double log_q = static_cast<double>(c[v]) - lc;
    kl += std::exp(log_p) * (log_p - log_q);
  }
  return std::isnan(kl) ? kInf : std::max(kl, 0.0);
}

int64_t TokenAt(const Tensor& tokens, int64_t i) {
  return tokens.dtype() == kInt64 ? tokens.data<int64_t>()[i] : tokens.data<int32_t>()[i];
}

}  // namespace

Status LmAccumulator::Add(const Tensor& reference, const Tensor& candidate, const Tensor& tokens) {
  const std::string what = "output '" + output_ + "'";
  if (reference.dtype() != kFloat || candidate.dtype() != kFloat) {
    return Status::InvalidInput(what + ": language-model metrics need float logits");
  }
  if (reference.rank() != 3 || reference.shape() != candidate.shape()) {
    return Status::InvalidInput(what + ": logits of shapes " + ShapeToString(reference.shape()) +
                                " and " + ShapeToString(candidate.shape()) +
                                "; expected [batch, sequence, vocab] in both models");
  }
  if (tokens.rank() != 2 || tokens.dim(0) != reference.dim(0) || tokens.dim(1) != reference.dim(1) ||
      (tokens.dtype() != kInt64 && tokens.dtype() != kInt32)) {
    return Status::InvalidInput(what + ": logits " + ShapeToString(reference.shape()) +
                                " do not score the token ids " + ShapeToString(tokens.shape()) +
                                " (one logits row per token is needed)");
  }
  const int64_t rows = reference.dim(0), length = reference.dim(1), vocab = reference.dim(2);
  for (int64_t b = 0; b < rows; ++b) {
    for (int64_t t = 0; t + 1 < length; ++t) {
      const int64_t target = TokenAt(tokens, b * length + t + 1);
      if (target < 0 || target >= vocab) {
        return Status::InvalidInput(what + ": token id " + std::to_string(target) +
                                    " is outside the vocabulary of " + std::to_string(vocab));
      }
      const float* r = reference.data<float>() + (b * length + t) * vocab;
      const float* c = candidate.data<float>() + (b * length + t) * vocab;
      const double lr = LogSumExp(r, vocab), lc = LogSumExp(c, vocab);
      nll_ref_ += lr - static_cast<double>(r[target]);
      nll_cand_ += lc - static_cast<double>(c[target]);
      if (ArgMax(r, vocab) == ArgMax(c, vocab)) ++agreements_;
      kld_.push_back(KlDivergence(r, lr, c, lc, vocab));
    }
  }
  return Status::OK();
}

LmMetrics LmAccumulator::Finish() const {
  LmMetrics m;
  m.output = output_;
  m.positions = static_cast<int64_t>(kld_.size());
  if (kld_.empty()) return m;
  const double n = static_cast<double>(kld_.size());
  auto perplexity = [&](double nll) { return std::isnan(nll) ? kInf : std::exp(nll / n); };
  m.perplexity_ref = perplexity(nll_ref_);
  m.perplexity_cand = perplexity(nll_cand_);
  m.perplexity_ratio = m.perplexity_cand / m.perplexity_ref;
  if (std::isnan(m.perplexity_ratio)) m.perplexity_ratio = kInf;
  std::vector<double> sorted = kld_;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double k : sorted) sum += k;
  m.kld_mean = sum / n;
  const size_t count = sorted.size();
  m.kld_median = count % 2 ? sorted[count / 2] : (sorted[count / 2 - 1] + sorted[count / 2]) / 2;
  const size_t rank99 = static_cast<size_t>(std::ceil(0.99 * n));  // nearest rank, 1-based
  m.kld_p99 = sorted[std::max<size_t>(rank99, 1) - 1];
  m.kld_max = sorted.back();
  m.top1_agreement = static_cast<double>(agreements_) / n;
  return m;
}

}  // namespace pq::validate
