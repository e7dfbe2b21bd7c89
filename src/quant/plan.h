// Planning: which nodes pq quantizes, which weight/bias each uses with which
// per-channel axis, which activations get QDQ and where their parameters come
// from. Decided from the graph alone, before any number is computed.
#ifndef PQ_QUANT_PLAN_H_
#define PQ_QUANT_PLAN_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pq/data_type.h"
#include "pq/model.h"
#include "pq/quantize.h"
#include "quant/qdq_writer.h"
#include "quant/scheme.h"
#include "quant/scheme_set.h"

namespace pq::quant {

// A constant to quantize, with all its uses that take the same axis.
struct PlannedConstant {
  std::string tensor;
  TensorRole role = TensorRole::kWeight;
  int64_t axis = -1;           // per-channel axis; -1 per tensor
  std::vector<Use> uses;
  // For biases: the activation and weight whose scales multiply into its
  // scale (bias scale = activation scale x weight scale).
  std::string activation;
  std::string weight;
  int64_t weight_axis = -1;
  // The scheme that quantizes it (the main scheme or the fallback).
  const Scheme* scheme = nullptr;
  // Blockwise encodings: the constant is [K, N] (MatMul, Gemm transB=0) and
  // is handed to the scheme transposed, as [N, K].
  bool transposed = false;
  // What chose `scheme` when it was not --scheme/--fallback, as
  // QuantizedTensorRecord::selected_by and the fields after it say.
  std::string selected_by, selection_value, override_pattern, selection_note;
  // An embedding table (embedding_tables.h): rounded to nearest whatever
  // --weight-algo says, and written as `encoding` rather than the scheme's.
  bool table = false;
  std::optional<WeightEncoding> encoding;
};

// An activation that gets QuantizeLinear -> DequantizeLinear.
struct PlannedActivation {
  std::string tensor;
  std::string shares_params_with;  // "" = calibrated itself
  std::vector<Use> uses;
  // Its float type (float, float16 or bfloat16): the weight type of the
  // quantized node that reads or writes it, through pass-through ops.
  int32_t float_type = kFloat;
};

struct QuantPlan {
  std::vector<int> nodes;  // quantized nodes (main-graph indices)
  // Gathers reading a planned embedding table (not in `nodes`: their data
  // input is the constant itself, not an activation).
  int64_t table_gathers = 0;
  std::vector<PlannedConstant> constants;
  std::vector<PlannedActivation> activations;  // topological order
  std::vector<SkippedRecord> skipped;
  // Activations that need a calibrated range.
  std::set<std::string> calibrate;
};

// Builds the plan for `model`. `static_mode`: activations are quantized too
// (and biases of quantized Conv/Gemm). `per_channel`: weights per output
// channel where the op has one. Each weight goes to `scheme` if it takes it,
// else to `fallback` (may be null), else is skipped with the scheme's
// reason. A scheme that quantizes no activations also has every other float
// constant the graph reads (1-D, biases, ...) listed as skipped.
QuantPlan BuildPlan(const Model& model, const QuantizeOptions& options, bool static_mode,
                    bool per_channel, const Scheme& scheme, const Scheme* fallback);

// The same with every rule of `schemes`: [quantize.overrides] first (the
// first pattern matching the weight's or a reader node's name), then
// --lm-head for the lm_head (FindLmHead), then the main scheme and the
// fallback; embedding tables take --embeddings, a tied one the more precise
// of --embeddings and --lm-head (keep, then int8, then 4-bit), stored once.
QuantPlan BuildPlan(const Model& model, const QuantizeOptions& options, bool static_mode,
                    bool per_channel, const SchemeSet& schemes);

}  // namespace pq::quant

#endif  // PQ_QUANT_PLAN_H_
