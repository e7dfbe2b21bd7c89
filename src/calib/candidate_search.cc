#include "calib/candidate_search.h"

#include <algorithm>

namespace pq::calib {

int64_t ExhaustiveMinimum(int64_t first, int64_t last, const std::function<double(int64_t)>& cost) {
  int64_t best = first;
  double best_cost = cost(first);
  for (int64_t c = first + 1; c <= last; ++c) {
    const double value = cost(c);
    if (value < best_cost) {
      best = c;
      best_cost = value;
    }
  }
  return best;
}

int64_t CoarseToFineMinimum(int64_t first, int64_t last,
                            const std::function<double(int64_t)>& cost) {
  const int64_t count = last - first + 1;
  if (count <= kCoarseCandidates) return ExhaustiveMinimum(first, last, cost);
  const int64_t stride = (count + kCoarseCandidates - 1) / kCoarseCandidates;
  int64_t best = first;
  double best_cost = cost(first);
  for (int64_t c = first + stride;; c += stride) {
    c = std::min(c, last);
    const double value = cost(c);
    if (value < best_cost) {
      best = c;
      best_cost = value;
    }
    if (c == last) break;
  }
  return ExhaustiveMinimum(std::max(first, best - stride + 1), std::min(last, best + stride - 1),
                           cost);
}

}  // namespace pq::calib
