#include "gguf/gguf_schemes.h"

#include <iterator>

namespace pq::gguf {
namespace {

// general.file_type values are llama.cpp's llama_ftype: ALL_F32 0,
// MOSTLY_F16 1, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7, MOSTLY_Q4_K_S 14,
// MOSTLY_IQ4_NL 25.
constexpr GgufSchemeEntry kTable[] = {
    {"gguf-f32", GgmlType::kF32, 0, false, "GGUF for llama.cpp, every weight float32 (the reference file)"},
    {"gguf-f16", GgmlType::kF16, 1, false, "GGUF for llama.cpp, matrices float16, norms float32"},
    {"gguf-q8_0", GgmlType::kQ8_0, 7, false,
     "GGUF for llama.cpp, matrices Q8_0 (int8 per 32 values with a float16 scale: 8.5 bits)"},
    {"gguf-q4_0", GgmlType::kQ4_0, 2, true,
     "GGUF for llama.cpp, matrices Q4_0 (4-bit per 32 values with a float16 scale: 4.5 bits); "
     "--calib token data weighs the rounding"},
    {"gguf-q4_k", GgmlType::kQ4_K, 14, true,
     "GGUF for llama.cpp, matrices Q4_K (4-bit, 256-value super-blocks of 8 sub-blocks with 6-bit "
     "scales and mins: 4.5 bits; rows not a multiple of 256 fall back to Q5_0); --calib weighs the "
     "rounding"},
    {"gguf-iq4_nl", GgmlType::kIq4Nl, 25, true,
     "GGUF for llama.cpp, matrices IQ4_NL (16 non-linear levels per 32 values with a float16 "
     "scale: 4.5 bits); --calib weighs the rounding"},
};

}  // namespace

const GgufSchemeEntry* GgufSchemeTable(size_t* count) {
  *count = std::size(kTable);
  return kTable;
}

const GgufSchemeEntry* FindGgufScheme(const std::string& name) {
  for (const GgufSchemeEntry& e : kTable) {
    if (name == e.name) return &e;
  }
  return nullptr;
}

GgmlType TypeForRow(GgmlType wanted, int64_t cols) {
  GgmlType type = wanted;
  while (true) {
    const GgmlTypeTraits* traits = TraitsOf(type);
    if (traits == nullptr || cols % traits->block_size == 0) return type;
    type = type == GgmlType::kQ4_K ? GgmlType::kQ5_0 : GgmlType::kF16;
  }
}

}  // namespace pq::gguf
