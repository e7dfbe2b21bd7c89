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
  SchemeOptions options;             // what both were made with
  // Flags given that neither scheme reads (SchemeEntry::options), one
  // sentence each; --double-quant has its own warning in Quantize.
  std::vector<std::string> ignored_options;

  // Whether the main scheme or the fallback stores weights as `encoding`.
  bool Writes(WeightEncoding encoding) const;
  // Whether weights are stored through plain (per-axis) DequantizeLinear.
  bool WritesDequantizeLinear() const { return Writes(WeightEncoding::kDequantizeLinear); }
};

// The SchemeOptions that `options` asks for.
SchemeOptions SchemeOptionsFrom(const QuantizeOptions& options);

// The registry row of `name`, or null.
const SchemeEntry* FindSchemeEntry(const std::string& name);

// Makes the schemes `options` names. Errors (kInvalidArgument): an unknown
// scheme or fallback, a block size that is not a power of two in [16, 4096],
// an unknown --nf4-format or --int4-format.
Result<SchemeSet> MakeSchemeSet(const QuantizeOptions& options);

// The schemes' part of the report's "config": "symmetric_weights" always;
// "granularity" ("per-block") when the main scheme is blockwise;
// when the main scheme is blockwise or a fallback is given, the blockwise
// options ("block_size", "nf4_format", "int4_format", "double_quant" with
// `double_quant_applied`, "fallback").
nlohmann::ordered_json SchemeReportConfig(const SchemeSet& schemes, const QuantizeOptions& options,
                                          bool double_quant_applied);

}  // namespace pq::quant

#endif  // PQ_QUANT_SCHEME_SET_H_
