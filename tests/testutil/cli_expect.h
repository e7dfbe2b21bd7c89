// Expectations shared by the tests that run the pq binary: the documented
// exit codes and what a refusal looks like.
#ifndef PQ_TESTS_TESTUTIL_CLI_EXPECT_H_
#define PQ_TESTS_TESTUTIL_CLI_EXPECT_H_

#include <gtest/gtest.h>

#include <string>

#include "testutil/temp_dir.h"

namespace pq::testing {

// Exit codes, as README.md documents them.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInvalidInput = 3;
inline constexpr int kExitGateFailed = 4;
inline constexpr int kExitOutput = 5;

// A refusal: the given exit code, exactly one "pq: error:" line on stderr
// that contains `fragment`, nothing on stdout.
inline void ExpectRefusal(const CliRun& run, int exit_code, const std::string& fragment) {
  EXPECT_EQ(run.exit_code, exit_code) << run.err;
  EXPECT_EQ(CountLines(run.err), 1) << run.err;
  EXPECT_EQ(run.err.rfind("pq: error: ", 0), 0u) << run.err;
  EXPECT_NE(run.err.find(fragment), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
}

}  // namespace pq::testing

#endif  // PQ_TESTS_TESTUTIL_CLI_EXPECT_H_
