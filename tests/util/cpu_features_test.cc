// Tests of src/util/cpu_features.cc: the compiled list follows the compiler's
// macros, and a binary that runs has every extension it was compiled for.
#include "pq/cpu_features.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace pq {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

TEST(CpuFeaturesTest, CompiledListFollowsPredefinedMacros) {
  const std::vector<std::string> compiled = CompiledCpuFeatures();
#ifdef __AVX2__
  EXPECT_TRUE(Contains(compiled, "avx2"));
#else
  EXPECT_FALSE(Contains(compiled, "avx2"));
#endif
#ifdef __AVX512F__
  EXPECT_TRUE(Contains(compiled, "avx512f"));
#else
  EXPECT_FALSE(Contains(compiled, "avx512f"));
#endif
  for (const std::string& name : compiled) EXPECT_TRUE(Contains(KnownCpuFeatures(), name)) << name;
}

// This test runs, so the CPU executes what the library was compiled for.
TEST(CpuFeaturesTest, RunningCpuHasEveryCompiledExtension) {
#if defined(__x86_64__)
  const std::vector<std::string> running = RunningCpuFeatures();
  for (const std::string& name : CompiledCpuFeatures()) EXPECT_TRUE(Contains(running, name)) << name;
#else
  EXPECT_TRUE(RunningCpuFeatures().empty());
#endif
}

}  // namespace
}  // namespace pq
