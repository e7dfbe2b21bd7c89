// SchemeSet: the schemes one quantization uses, made from QuantizeOptions: the
// main scheme and an optional fallback for the weights the main one does not
// take. It also answers what the writers and the report need to know about
// the pair, so no other code compares scheme names.
#ifndef PQ_QUANT_SCHEME_SET_H_
#define PQ_QUANT_SCHEME_SET_H_

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "pq/quantize.h"
#include "pq/status.h"
#include "quant/scheme.h"

namespace pq::quant {

struct SchemeSet {
  std::unique_ptr<Scheme> main;
  std::unique_ptr<Scheme> fallback;  // null when --fallback is not given
  // --embeddings: "keep", "int8" or "4bit", and the scheme embedding tables
  // take (null for keep): int8-sym for int8; for 4bit the main scheme's grid
  // (int4-sym for a scheme that is not 4-bit) in its standard-ops form
  // (blocked DequantizeLinear, nf4's decode), which every reader of the
  // table can read. `gather_block_quantized`: tables that only Gathers read
  // are written as com.microsoft GatherBlockQuantized (int4, --int4-format ort).
  std::string embedding_choice = kKeepFp32;
  std::unique_ptr<Scheme> embedding;
  bool gather_block_quantized = false;
  // --lm-head resolved ("keep", "int8" or "same") and, for int8, the
  // int8-sym scheme the lm_head takes.
  std::string lm_head_choice;
  std::unique_ptr<Scheme> lm_head;
  // [quantize.overrides] in file order; a null scheme keeps the tensor FP32.
  struct Override {
    std::string pattern;
    std::string value;
    std::unique_ptr<Scheme> scheme;
  };
  std::vector<Override> overrides;
  SchemeOptions options;             // what both were made with
  // Flags given that neither scheme reads (SchemeEntry::options), one
  // sentence each; --double-quant has its own warning in Quantize.
  std::vector<std::string> ignored_options;

  // Whether the main scheme, the fallback, the lm_head's or an override's
  // scheme stores MatMul/Gemm weights as `encoding` (embedding tables aside:
  // see EmbeddingEncoding).
  bool Writes(WeightEncoding encoding) const;
  // How an embedding table is written: `tied` when a node other than an
  // axis-0 Gather reads it, `cols` its row length. REQUIRES embedding.
  WeightEncoding EmbeddingEncoding(bool tied, int64_t cols) const;
  // Whether weights are stored through plain (per-axis) DequantizeLinear.
  bool WritesDequantizeLinear() const { return Writes(WeightEncoding::kDequantizeLinear); }
};

// The SchemeOptions that `options` asks for.
SchemeOptions SchemeOptionsFrom(const QuantizeOptions& options);

// The registry row of `name`, or null.
const SchemeEntry* FindSchemeEntry(const std::string& name);

// Makes the schemes `options` names. Errors (kInvalidArgument): an unknown
// scheme or fallback, a block size that is not a power of two in [16, 4096],
// an unknown --nf4-format or --int4-format, --embeddings or --lm-head value,
// an override naming an unknown scheme (naming its pattern), an
// --accuracy-level outside 0-4 or given when no weight is written as
// MatMulNBits.
Result<SchemeSet> MakeSchemeSet(const QuantizeOptions& options);

// The schemes' part of the report's "config": "symmetric_weights" always;
// "granularity" ("per-block") when the main scheme is blockwise;
// when the main scheme is blockwise or a fallback is given, the blockwise
// options ("block_size", "nf4_format", "int4_format", "double_quant" with
// `double_quant_applied`, "fallback"); "embeddings" and "lm_head" when the
// main scheme is blockwise or either was asked for; "overrides" and
// "accuracy_level" when given.
nlohmann::ordered_json SchemeReportConfig(const SchemeSet& schemes, const QuantizeOptions& options,
                                          bool double_quant_applied);

}  // namespace pq::quant

#endif  // PQ_QUANT_SCHEME_SET_H_
