// Quantize: turns an FP32 model into a quantized one and records every
// parameter it chose. The records are the data model of the audit report:
// they hold exactly the values written into the model.
#ifndef PQ_QUANTIZE_H_
#define PQ_QUANTIZE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pq/activation_stats.h"
#include "pq/calibration.h"
#include "pq/calibration_stats.h"
#include "pq/dataset.h"
#include "pq/model.h"
#include "pq/quant_params.h"
#include "pq/status.h"

namespace pq {

inline constexpr double kDefaultGptqDamp = 0.01;

// A per-tensor override from a config file's [quantize.overrides] section:
// weights whose initializer name or node name matches `pattern` (fnmatch
// glob) take `scheme` (a name from Schemes()) or stay FP32 ("keep").
struct WeightOverride {
  std::string pattern;
  std::string scheme;
};
inline constexpr const char* kKeepFp32 = "keep";

struct QuantizeOptions {
  // A name from Schemes().
  std::string scheme = "int8-sym";
  // Weights only: no calibration, activations stay float.
  bool weights_only = false;
  // Weights per output channel (true) or per tensor.
  bool per_channel = true;
  // int8-asym: weights with a zero point from each channel's range. The
  // default (false) is int8 weights with zero point 0, what ONNX Runtime's
  // fast uint8 x int8 kernels need; activations keep their zero points.
  bool asymmetric_weights = false;
  // Op types whose weights (and, statically, activations) are quantized.
  std::vector<std::string> op_types = {"Conv", "MatMul", "Gemm"};
  std::vector<std::string> exclude_nodes;
  std::vector<std::string> exclude_op_types;
  // Calibration data (files or folders) and how to use it.
  std::vector<std::string> calib_paths;
  CalibrationOptions calibration;  // its grid is set from the scheme
  int64_t calib_batch = 1;
  int64_t calib_samples = 0;  // 0 = all
  // Token data for decoder models (windows, tokenizer for .txt).
  TokenDataOptions calib_tokens;
  // Fold BatchNormalization into the Conv before it (as runtimes do).
  bool fold_batchnorm = true;
  int threads = 0;
  // Blockwise schemes (nf4, int4-*): elements per block; 0 = the scheme's
  // default (nf4 64, int4 32). Powers of two from 16 to 4096.
  int64_t block_size = 0;
  // nf4: "ort" (com.microsoft MatMulBnb4) or "onnx" (standard ops only).
  std::string nf4_format = "ort";
  // int4-sym / int4-asym: "ort" (com.microsoft MatMulNBits) or "onnx"
  // (INT4 / UINT4 -> DequantizeLinear with block_size; the model's
  // default-domain opset is upgraded to 21 and the upgrade verified).
  std::string int4_format = "ort";
  // nf4 "onnx": absmax double-quantized to int8 in blocks of 256 (QLoRA).
  // With "ort" it is not applied (MatMulBnb4 reads float absmax): a warning
  // says so and the report records it.
  bool double_quant = false;
  // A scheme for the weights the main scheme does not take ("" = leave them
  // FP32), e.g. int8-sym for Conv weights next to nf4.
  std::string fallback;
  // How weights are rounded onto the scheme's grid: a name from
  // WeightRoundingAlgorithms() ("rtn" = round to nearest).
  std::string weight_algo = "rtn";
  // --weight-algo gptq: dampening added to X^T X's diagonal, as a fraction
  // of its mean (--gptq-damp), and columns taken by decreasing X^T X
  // diagonal (--gptq-act-order). X^T X comes from calib_paths, run as
  // calibration runs them (calib_batch, calib_samples, calib_tokens).
  double gptq_damp = kDefaultGptqDamp;
  bool gptq_act_order = false;
  // --weight-algo gptq: the most bytes of X^T X (8 K^2 per distinct layer
  // input of K features) summed at once (--hessian-budget-mb). The model is
  // run over the data in segments of consecutive layers whose Hessians fit
  // it; each segment's weights are rounded and its Hessians freed before the
  // next. Every Hessian, and so the model written, is the same for any
  // budget (each segment continues from the FP32 values at its cut); a
  // smaller one holds less memory and costs nothing but restarts.
  int64_t hessian_budget_bytes = int64_t{512} << 20;
  // SmoothQuant (--smoothquant ALPHA, in [0, 1]; unset = off): before
  // calibration, each quantized MatMul/Gemm input X with an exact fold has
  // its outlier channels moved into the weight, s_j = max|X_j|^alpha /
  // max|W_j|^(1-alpha), X/s folded into the LayerNorm/RMSNorm, constant Mul
  // or constant MatMul producing it and W scaled by s. Needs calib_paths and
  // a scheme that quantizes activations (not weights_only); excludes
  // --weight-algo awq.
  std::optional<double> smoothquant_alpha;
  // Cross-layer equalization (--equalize): before planning, each pair of
  // Convs with only positive-homogeneous ops between them (Relu, LeakyRelu,
  // PRelu, Identity, max/average pooling, Clip without an upper bound) has
  // its channels rescaled, W1[i] / s_i and b1[i] / s_i, W2[:, i] * s_i, so that
  // both weights' per-channel ranges are equal. Kept only when the FP32
  // outputs stay within 1e-5 relative L2 (on the first --calib batches, or
  // a generated sample without --calib); otherwise not applied, reported.
  bool equalize = false;
  // Empirical bias correction (--bias-correction): after the weights are
  // quantized, E[(W_q - W) x] per output channel, with x the layer's input in
  // the FP32 model over calib_paths, is subtracted from the bias of each
  // quantized Conv, Gemm (C) or MatMul followed by an Add of a constant;
  // quantized Conv/Gemm without a bias get a zero one first. Needs
  // calib_paths.
  bool bias_correction = false;
  // Embedding tables (a Gather's float 2-D constant data, read along axis 0
  // with run-time indices): "keep" (FP32), "int8" (int8 per row, zero point
  // 0, DequantizeLinear -> Gather) or "4bit" (blocks along the row: int4 as
  // the scheme, DequantizeLinear-21 or com.microsoft GatherBlockQuantized
  // with --int4-format ort; nf4 as the nf4 scheme's standard-ops decode).
  std::string embeddings = kKeepFp32;
  // The lm_head of a decoder LLM (the MatMul/Gemm producing its logits):
  // "keep", "int8" (int8 per output channel, DequantizeLinear -> MatMul) or
  // "same" (the scheme's own form); "" = int8 for the 4-bit schemes, same
  // for the others.
  std::string lm_head;
  // Per-tensor overrides, the first matching pattern winning.
  std::vector<WeightOverride> overrides;
  // MatMulNBits' accuracy_level attribute (0-4); -1 = not written.
  int accuracy_level = -1;
  // Statistics from an earlier calibration of the same model (e.g. a
  // previous outcome's activation_stats). When they cover every activation
  // this run quantizes and were made with the same calibration options and
  // grid, calibration does not run; otherwise the data is calibrated anew.
  std::optional<ActivationStats> activation_stats;
  // Raw statistics from a .pqcal file (`pq calibrate`): when set, the model
  // is not run; each activation's range is chosen from them with
  // `calibration` (any method). Takes precedence over activation_stats and
  // excludes calib_paths. The caller checks that they belong to the model
  // (CheckStatisticsModel; QuantizeJob does).
  std::shared_ptr<const CalibrationStatistics> calibration_statistics;
};

enum class TensorRole { kWeight, kBias, kActivation };
const char* TensorRoleName(TensorRole role);

// A node that reads a quantized tensor.
struct ConsumerRef {
  std::string node;
  std::string op_type;
};

// How a weight was put on its grid when --weight-algo is not rtn.
struct WeightRoundingRecord {
  std::string requested;  // --weight-algo, e.g. "gptq"
  std::string applied;    // what rounded it: `requested` or "rtn"
  // Why rtn was applied instead ("" when requested == applied): either
  // the algorithm could not run on this weight (a scheme or layout it does
  // not take, no data, X^T X singular after dampening; said as a warning
  // too), or it ran and rounding to nearest gave the lower output error.
  std::string fallback;
  // GPTQ: --gptq-damp, the lambda it added to X^T X's diagonal, act-order,
  // the columns per lazy batch, X^T X's inputs, rows, and the input features
  // that were 0 on every row.
  double damp = 0;
  double lambda = 0;
  bool act_order = false;
  // Block parameters fitted from the original weights up front (with
  // act-order, and for nf4 blocks that cross rows) rather than from the
  // updated weights as each block is reached.
  bool static_groups = false;
  int64_t lazy_batch = 0;
  std::vector<std::string> inputs;  // activations whose X^T X was used
  int64_t rows = 0;                 // rows of X summed
  int64_t dead_inputs = 0;          // input features 0 on every row
  // The layer's relative output error on the calibration data,
  // ||X (W - Q)^T||^2 / ||X W^T||^2, with round-to-nearest and with the
  // algorithm's values; unset when not measured.
  std::optional<double> output_error_rtn;
  std::optional<double> output_error;
  // AWQ: the alpha chosen for the weights reading this input (unset for
  // other algorithms, and for weights AWQ did not search), the smallest and
  // largest per-input-feature scale s, the weights that share s (this one
  // included), and where 1/s went: "<op> '<node>'" of the producer it was
  // folded into, "Mul inserted ('<node>')", or "" when alpha is 0 (nothing
  // scaled).
  std::optional<double> alpha;
  double scale_min = 1, scale_max = 1;
  std::vector<std::string> scaled_with;
  std::string scales_folded_into;
};

// SmoothQuant of one MatMul/Gemm weight (--smoothquant).
struct SmoothQuantRecord {
  double alpha = 0;
  std::string input;                // the activation whose channels were scaled
  std::string folded_into;          // "<op> '<node>'" that took 1/s; "" when not applied
  std::string not_applied;          // why not ("" when applied)
  double scale_min = 1, scale_max = 1;
  std::vector<std::string> scaled_with;  // the weights sharing s (this one included)
};

// Empirical bias correction of one quantized weight's layer
// (--bias-correction).
struct BiasCorrectionRecord {
  std::string bias;         // the corrected constant (Conv/Gemm bias, or the constant an Add after a MatMul adds)
  bool bias_added = false;  // pq added a zero bias (the node had none)
  std::string not_applied;  // why not ("" when applied)
  // |correction| over the output channels: largest, mean, and the largest
  // relative to the largest |bias| before correction (0 when that is 0).
  double max_abs = 0, mean_abs = 0, max_relative = 0;
  int64_t channels = 0;
};

// Cross-layer equalization of one Conv -> ... -> Conv pair (--equalize).
struct EqualizationRecord {
  std::string first_node, second_node;      // "<op> '<name>'"
  std::string first_weight, second_weight;  // their weight tensors
  std::vector<std::string> between;         // the ops between, "<op> '<name>'"
  bool applied = false;
  std::string not_applied;                  // why not ("" when applied)
  // The per-channel scales s (W1[i] / s_i, W2[:, i] * s_i), their extremes.
  double scale_min = 1, scale_max = 1;
  int64_t channels = 0;
  // min_i r_i / max_i r_i of each weight's channel ranges (W1 per output,
  // W2 per input channel), before and after (after = before when not
  // applied).
  double first_range_ratio_before = 0, first_range_ratio_after = 0;
  double second_range_ratio_before = 0, second_range_ratio_after = 0;
};

// One tensor pq quantized, as written into the model.
struct QuantizedTensorRecord {
  std::string name;        // the FP32 tensor
  // The If/Loop/Scan body holding it, as a path from the main graph
  // ("If 'gate'/then_branch/Loop #0/body"); "" for the main graph.
  std::string graph;
  TensorRole role = TensorRole::kWeight;
  std::vector<ConsumerRef> consumers;
  std::vector<int64_t> shape;  // constants only; activations: empty
  int32_t from_dtype = 1;
  std::string scheme;
  std::string granularity;  // "per-tensor", "per-channel", "per-block"
  QuantParams params;       // to_dtype = params.dtype
  std::optional<CalibratedRange> range;  // activations with their own range
  std::string shares_params_with;        // activations that reuse another's params
  std::optional<ErrorMetrics> error;     // constants: FP32 vs dequantized
  // Names written into the model.
  std::string quantized_name, scale_name, zero_point_name, dequantized_name;
  // Blockwise 4-bit weights ("" / empty otherwise): the stored code type
  // ("nf4", "uint4", "int4"), how the model reads it back ("MatMulBnb4",
  // "MatMulNBits", "decode" = standard ops, "DequantizeLinear"), the fused
  // nodes that read it, and the bytes its codes, scales and zero points take.
  std::string storage_type;
  std::string written_form;
  std::vector<std::string> written_nodes;
  int64_t stored_bytes = 0;
  // Double-quantized absmax (params.scale then holds the reconstructed
  // values): absmax[i] = codes[i] * scales[i / block_size] + offset.
  struct DoubleQuant {
    int64_t block_size = 0;
    float offset = 0;
    std::vector<int8_t> codes;
    std::vector<float> scales;
    std::string scales_name, offset_name;
  };
  std::optional<DoubleQuant> double_quant;
  // Weights, when --weight-algo is not rtn.
  std::optional<WeightRoundingRecord> rounding;
  // Weights of MatMul/Gemm when --smoothquant is set.
  std::optional<SmoothQuantRecord> smoothquant;
  // Weights of Conv/MatMul/Gemm when --bias-correction is set.
  std::optional<BiasCorrectionRecord> bias_correction;
  // What chose this weight's scheme when it was not --scheme/--fallback:
  // "embeddings" (--embeddings), "lm_head" (--lm-head), "tied" (an embedding
  // table that the lm_head reads too, stored once), "override" (a
  // [quantize.overrides] pattern); "" otherwise. `selection_value` is the
  // value applied ("int8", "4bit", "same", a scheme name), `override_pattern`
  // the pattern that matched, `selection_note` how a tie was resolved.
  std::string selected_by;
  std::string selection_value;
  std::string override_pattern;
  std::string selection_note;
  // MatMulNBits' accuracy_level as written (-1 = not written).
  int64_t accuracy_level = -1;
};

// A node or tensor a scheme could have taken and did not.
struct SkippedRecord {
  std::string node;
  std::string op_type;
  std::string tensor;
  std::string reason;
  // A constant weight of a node of the requested op types that neither the
  // scheme nor the fallback took (its dtype, its shape, the scheme's rules);
  // false for nodes not asked for or excluded, products of two activations,
  // biases and other constants.
  bool weight_not_taken = false;
};

struct QuantizeOutcome {
  std::unique_ptr<Model> model;  // the quantized model, not yet saved
  std::vector<QuantizedTensorRecord> tensors;
  std::vector<SkippedRecord> skipped;
  std::vector<std::string> transformations;  // e.g. BatchNormalization folding, opset conversion
  // --equalize: every Conv pair found, equalized or not (and why not).
  std::vector<EqualizationRecord> equalization;
  std::vector<std::string> warnings;
  // The activation statistics the parameters came from (empty when nothing
  // was calibrated): pass them back in QuantizeOptions::activation_stats to
  // quantize the same model again without calibrating.
  ActivationStats activation_stats;
  // The calibration data the weight-rounding algorithm read (GPTQ's X^T X);
  // empty for rtn.
  struct RoundingData {
    std::vector<DatasetFile> files;
    int64_t samples = 0;
    int64_t batch = 0;
  };
  RoundingData rounding_data;
  int64_t nodes_quantized = 0;
  bool per_channel = true;  // false when per-axis was not possible
  bool double_quant_applied = false;  // nf4 absmax written double-quantized
  // The schemes' part of the report's config (SchemeReportConfig).
  nlohmann::ordered_json scheme_config;
};

// Quantizes `model` as `options` say. `progress` (may be empty) reports
// calibration progress (samples done, total).
// Errors: kInvalidArgument (unknown scheme or weight-rounding algorithm, a
// scheme or algorithm that needs calibration without --calib, gptq with a
// scheme that is not blockwise), kInvalidInput (bad data, NaN/Inf weights naming the
// tensor), kNotSupported (an op the executor cannot run, opset < 10, a model
// --int4-format onnx cannot upgrade to opset 21).
Result<QuantizeOutcome> Quantize(const Model& model, const QuantizeOptions& options,
                                 const std::function<void(int64_t, int64_t)>& progress);

// The registered schemes: (name, one-line summary), in table order.
std::vector<std::pair<std::string, std::string>> Schemes();

// A registered scheme as `pq schemes` describes it.
struct SchemeDescription {
  std::string name;
  std::string summary;
  std::vector<std::string> options;  // the scheme-specific flags it reads
  bool calibrates = false;           // quantizes activations (needs --calib)
};
std::vector<SchemeDescription> DescribeSchemes();

// The registered weight-rounding algorithms: (name, one-line summary).
std::vector<std::pair<std::string, std::string>> WeightRoundingAlgorithms();

}  // namespace pq

#endif  // PQ_QUANTIZE_H_
