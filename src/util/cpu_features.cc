#include "pq/cpu_features.h"

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#include <cpuid.h>
#endif

namespace pq {
namespace {

// Whether the compiler was told to use each extension (GCC and clang define
// these macros for -mavx2, -march=native and so on).
#ifdef __SSE4_2__
constexpr bool kSse42 = true;
#else
constexpr bool kSse42 = false;
#endif
#ifdef __AVX__
constexpr bool kAvx = true;
#else
constexpr bool kAvx = false;
#endif
#ifdef __F16C__
constexpr bool kF16c = true;
#else
constexpr bool kF16c = false;
#endif
#ifdef __FMA__
constexpr bool kFma = true;
#else
constexpr bool kFma = false;
#endif
#ifdef __AVX2__
constexpr bool kAvx2 = true;
#else
constexpr bool kAvx2 = false;
#endif
#ifdef __AVX512F__
constexpr bool kAvx512f = true;
#else
constexpr bool kAvx512f = false;
#endif
#ifdef __AVX512BW__
constexpr bool kAvx512bw = true;
#else
constexpr bool kAvx512bw = false;
#endif
#ifdef __AVX512VL__
constexpr bool kAvx512vl = true;
#else
constexpr bool kAvx512vl = false;
#endif
#ifdef __AVX512VNNI__
constexpr bool kAvx512vnni = true;
#else
constexpr bool kAvx512vnni = false;
#endif

// __builtin_cpu_supports takes a string literal, so each row carries its own
// probe.
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
#define PQ_CPU_PROBE(name) [] { return __builtin_cpu_supports(name) != 0; }
#else
#define PQ_CPU_PROBE(name) [] { return false; }
#endif

// F16C by CPUID (leaf 1, ECX bit 29): clang 14's __builtin_cpu_supports
// does not know "f16c".
bool RunningF16c() {
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
  unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (ecx & (1u << 29)) != 0;
#else
  return false;
#endif
}

struct FeatureRow {
  const char* name;
  bool compiled;
  bool (*running)();
};

// One row per extension, oldest first.
const FeatureRow kFeatures[] = {
    {"sse4.2", kSse42, PQ_CPU_PROBE("sse4.2")},
    {"avx", kAvx, PQ_CPU_PROBE("avx")},
    {"f16c", kF16c, RunningF16c},
    {"fma", kFma, PQ_CPU_PROBE("fma")},
    {"avx2", kAvx2, PQ_CPU_PROBE("avx2")},
    {"avx512f", kAvx512f, PQ_CPU_PROBE("avx512f")},
    {"avx512bw", kAvx512bw, PQ_CPU_PROBE("avx512bw")},
    {"avx512vl", kAvx512vl, PQ_CPU_PROBE("avx512vl")},
    {"avx512vnni", kAvx512vnni, PQ_CPU_PROBE("avx512vnni")},
};

#undef PQ_CPU_PROBE

}  // namespace

const std::vector<std::string>& KnownCpuFeatures() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const FeatureRow& row : kFeatures) names.push_back(row.name);
    return names;
  }();
  return kNames;
}

std::vector<std::string> CompiledCpuFeatures() {
  std::vector<std::string> out;
  for (const FeatureRow& row : kFeatures) {
    if (row.compiled) out.push_back(row.name);
  }
  return out;
}

std::vector<std::string> RunningCpuFeatures() {
  std::vector<std::string> out;
  for (const FeatureRow& row : kFeatures) {
    if (row.running()) out.push_back(row.name);
  }
  return out;
}

}  // namespace pq
