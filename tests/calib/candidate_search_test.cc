#include "calib/candidate_search.h"

#include <cmath>

#include <gtest/gtest.h>

namespace pq::calib {
namespace {

TEST(CalibCandidateSearch, ExhaustivePicksTheSmallestOnTies) {
  EXPECT_EQ(ExhaustiveMinimum(0, 10, [](int64_t c) { return std::abs(static_cast<double>(c) - 6); }),
            6);
  EXPECT_EQ(ExhaustiveMinimum(3, 9, [](int64_t) { return 1.0; }), 3);
  EXPECT_EQ(ExhaustiveMinimum(4, 4, [](int64_t) { return 1.0; }), 4);
}

TEST(CalibCandidateSearch, CoarseToFineFindsTheMinimumOfASmoothCost) {
  for (int64_t target : {128, 129, 700, 1999, 2047, 2048}) {
    int calls = 0;
    const auto cost = [&](int64_t c) {
      ++calls;
      const double d = static_cast<double>(c - target);
      return d * d;
    };
    EXPECT_EQ(CoarseToFineMinimum(128, 2048, cost), target);
    EXPECT_LT(calls, kCoarseCandidates + 20) << target;
  }
  // Few candidates: every one is tried.
  EXPECT_EQ(CoarseToFineMinimum(0, 50, [](int64_t c) { return c == 37 ? 0.0 : 1.0; }), 37);
}

}  // namespace
}  // namespace pq::calib
