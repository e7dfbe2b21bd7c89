// The GGUF schemes: one row per `--scheme gguf-*`, naming the ggml type its
// matrices are written in, and the fallback rule for rows that type cannot
// hold (llama.cpp's llama-quantize rule: a k-quant falls back to the legacy
// type of the same bit budget, a 32-block type to f16).
#ifndef PQ_GGUF_GGUF_SCHEMES_H_
#define PQ_GGUF_GGUF_SCHEMES_H_

#include <cstdint>
#include <string>

#include "gguf/ggml_types.h"

namespace pq::gguf {

struct GgufSchemeEntry {
  const char* name;        // "gguf-q4_k"
  GgmlType type;           // the type of every matrix that can hold it
  uint32_t llama_ftype;    // general.file_type (llama_ftype: MOSTLY_Q4_K_S = 14, ...)
  bool uses_importance;    // --calib data weighs the rounding
  const char* summary;
};

// The table, in `pq schemes` order; `count` receives its length.
const GgufSchemeEntry* GgufSchemeTable(size_t* count);
const GgufSchemeEntry* FindGgufScheme(const std::string& name);

// The type a matrix whose rows have `cols` values is written in when the
// scheme asks for `wanted`: `wanted` when cols is a multiple of its block,
// else the fallback chain (q4_k -> q5_0 -> f16; q8_0, q4_0, q5_0, iq4_nl ->
// f16). F32 and F16 hold any row.
GgmlType TypeForRow(GgmlType wanted, int64_t cols);

}  // namespace pq::gguf

#endif  // PQ_GGUF_GGUF_SCHEMES_H_
