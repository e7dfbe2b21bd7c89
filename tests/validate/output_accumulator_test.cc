// Tests of src/validate/output_accumulator.cc: SQNR is never NaN.
#include "validate/output_accumulator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace pq::validate {
namespace {

TEST(OutputErrorSumsTest, IdenticalValuesGiveInfiniteSqnrAndUnitCosine) {
  OutputErrorSums sums;
  for (double v : {1.0, -2.0, 0.5}) sums.Add(v, v);
  OutputComparison out;
  sums.Fill(&out);
  EXPECT_TRUE(std::isinf(out.sqnr_db) && out.sqnr_db > 0);
  EXPECT_EQ(out.cosine, 1.0);
  EXPECT_EQ(out.mean_abs_error, 0.0);
}

TEST(OutputErrorSumsTest, AllZeroOutputsAreIdenticalNotNan) {
  OutputErrorSums sums;
  for (int i = 0; i < 4; ++i) sums.Add(0.0, 0.0);
  OutputComparison out;
  sums.Fill(&out);
  EXPECT_FALSE(std::isnan(out.sqnr_db));
  EXPECT_TRUE(std::isinf(out.sqnr_db) && out.sqnr_db > 0);
  EXPECT_EQ(out.cosine, 1.0);
}

TEST(OutputErrorSumsTest, NonFiniteCandidateValuesGiveMinusInfinity) {
  OutputErrorSums sums;
  sums.Add(1.0, 1.0);
  sums.Add(2.0, std::numeric_limits<double>::quiet_NaN());
  OutputComparison out;
  sums.Fill(&out);
  EXPECT_EQ(out.non_finite_mismatches, 1);
  EXPECT_TRUE(std::isinf(out.sqnr_db) && out.sqnr_db < 0);
  EXPECT_FALSE(std::isnan(out.cosine));
}

TEST(OutputErrorSumsTest, KnownNoiseGivesKnownSqnr) {
  // Signal power 100, noise power 1 per element: 20 dB.
  constexpr double kExpectedDb = 20.0;
  OutputErrorSums sums;
  sums.Add(10.0, 9.0);
  sums.Add(-10.0, -9.0);
  OutputComparison out;
  sums.Fill(&out);
  EXPECT_NEAR(out.sqnr_db, kExpectedDb, 1e-12);
  EXPECT_EQ(out.max_abs_error, 1.0);
  EXPECT_EQ(out.mean_abs_error, 1.0);
}

}  // namespace
}  // namespace pq::validate
