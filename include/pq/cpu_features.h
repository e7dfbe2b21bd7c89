// The x86 instruction-set extensions pq's kernels can use: those the library
// was compiled for (-m flags, -march) and those the running CPU has. A binary
// compiled for an extension the CPU lacks dies with SIGILL, so `pq --version`
// prints both lists.
#ifndef PQ_CPU_FEATURES_H_
#define PQ_CPU_FEATURES_H_

#include <string>
#include <vector>

namespace pq {

// The extensions libpq was compiled to use, from the compiler's predefined
// macros (__AVX2__, __FMA__, __AVX512F__, ...), in the order of
// KnownCpuFeatures(). Names are lower case, as GCC spells them ("avx512vnni").
std::vector<std::string> CompiledCpuFeatures();

// The extensions of KnownCpuFeatures() the running CPU supports
// (__builtin_cpu_supports); empty on a non-x86 build.
std::vector<std::string> RunningCpuFeatures();

// Every extension the two lists above can name, oldest first.
const std::vector<std::string>& KnownCpuFeatures();

}  // namespace pq

#endif  // PQ_CPU_FEATURES_H_
