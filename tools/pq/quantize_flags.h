// The flags that say how a model is quantized, shared by `pq quantize` and
// `pq analyze` so both accept the same words with the same meaning.
#ifndef PQ_TOOLS_QUANTIZE_FLAGS_H_
#define PQ_TOOLS_QUANTIZE_FLAGS_H_

#include <string>

#include <CLI/CLI.hpp>

#include "pq/quantize.h"
#include "pq/status.h"

namespace pq::cli {

struct QuantizeFlags {
  QuantizeOptions options;
  std::string granularity = "per-channel";
  std::string op_types = "Conv,MatMul,Gemm";
};

// Adds --scheme, --calib*, --percentile, --weights-only, --asymmetric-weights, --symmetric-weights,
// --block-size, --nf4-format, --int4-format, --double-quant, --fallback,
// --weight-algo, --embeddings, --lm-head, --accuracy-level, --granularity, --op-types, --exclude-nodes,
// --exclude-op-types, --no-fold-batchnorm and --threads, writing into `flags`.
// `gguf_schemes`: --scheme also accepts the GGUF schemes (pq quantize).
void AddQuantizeFlags(CLI::App* sub, QuantizeFlags* flags, bool gguf_schemes = false);

// The options the parsed flags ask for.
QuantizeOptions QuantizeOptionsFrom(const QuantizeFlags& flags);

// Sets options->overrides from the [quantize.overrides] section of the
// --config file given to `sub`'s parent (config_overrides.h), if any.
// Errors (kInvalidArgument): an unreadable file or a malformed line.
Status ReadOverridesOfConfig(const CLI::App& sub, QuantizeOptions* options);

}  // namespace pq::cli

#endif  // PQ_TOOLS_QUANTIZE_FLAGS_H_
