// Searching a one-dimensional family of candidate ranges for the least cost.
#ifndef PQ_SRC_CALIB_CANDIDATE_SEARCH_H_
#define PQ_SRC_CALIB_CANDIDATE_SEARCH_H_

#include <cstdint>
#include <functional>

namespace pq::calib {

// At most this many candidates are evaluated in the coarse pass of
// CoarseToFineMinimum.
inline constexpr int64_t kCoarseCandidates = 256;

// Returns the candidate in [first, last] with the least cost (the smallest
// one on ties), evaluating every candidate. REQUIRES: first <= last.
int64_t ExhaustiveMinimum(int64_t first, int64_t last, const std::function<double(int64_t)>& cost);

// As ExhaustiveMinimum, but when there are more than kCoarseCandidates it
// evaluates every stride-th candidate (and `last`), then every candidate
// within one stride of the best of those. Used where a cost is expensive.
int64_t CoarseToFineMinimum(int64_t first, int64_t last,
                            const std::function<double(int64_t)>& cost);

}  // namespace pq::calib

#endif  // PQ_SRC_CALIB_CANDIDATE_SEARCH_H_
