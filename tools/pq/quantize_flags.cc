#include "quantize_flags.h"

#include <vector>

#include "cli_common.h"
#include "config_overrides.h"
#include "pq/gguf_job.h"
#include "pq/quantize_job.h"

namespace pq::cli {
namespace {

template <typename Table>
std::vector<std::string> Names(const Table& table) {
  std::vector<std::string> names;
  for (const auto& [name, summary] : table) names.push_back(name);
  return names;
}

void AddCalibrationFlags(CLI::App* sub, QuantizeOptions* q) {
  sub->add_option("--calib", q->calib_paths,
                  "Calibration data: .npy, .npz, a folder of them, or test_data_set_* folders; "
                  "for a decoder LLM also token ids or .txt with --tokenizer (repeatable)");
  std::vector<std::string> methods;
  for (const CalibrationMethod& m : CalibrationMethods()) methods.push_back(m.name);
  sub->add_option("--calib-method", q->calibration.method, "Calibration method")
      ->check(CLI::IsMember(methods))
      ->capture_default_str();
  sub->add_option("--percentile", q->calibration.percentile, "Percentile for --calib-method percentile")
      ->check(CLI::Range(50.0, 100.0))
      ->capture_default_str();
  sub->add_option("--calib-batch", q->calib_batch, "Calibration samples per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--calib-samples", q->calib_samples, "Use the first N calibration samples (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  AddTokenDataOptions(sub, &q->calib_tokens);
}

void AddWeightFlags(CLI::App* sub, QuantizeOptions* q, const std::vector<std::string>& schemes) {
  sub->add_flag("--weights-only", q->weights_only,
                "Quantize weights only (no calibration; activations stay float)");
  sub->add_flag("--asymmetric-weights", q->asymmetric_weights,
                "int8-asym: int8 weights with a zero point per channel (default: zero point 0, "
                "which ONNX Runtime's fast uint8 x int8 kernels need; with zero points its "
                "QLinearConv takes a slower path)");
  sub->add_flag("--symmetric-weights", [](int64_t) {},
                "int8-asym: int8 weights with zero point 0; the default, accepted for existing "
                "scripts");
  sub->add_option("--block-size", q->block_size,
                  "Blockwise schemes: elements per block, a power of two from 16 to 4096 "
                  "(default: nf4 64, int4 32)")
      ->check(CLI::Range(int64_t{16}, int64_t{4096}));
  sub->add_option("--nf4-format", q->nf4_format,
                  "nf4: ort (com.microsoft MatMulBnb4) or onnx (standard ops, still 4-bit on disk)")
      ->check(CLI::IsMember({"ort", "onnx"}))
      ->capture_default_str();
  sub->add_option("--int4-format", q->int4_format,
                  "int4-sym/int4-asym: ort (com.microsoft MatMulNBits, any opset) or onnx "
                  "(INT4/UINT4 -> DequantizeLinear with block_size; upgrades the model to opset 21)")
      ->check(CLI::IsMember({"ort", "onnx"}))
      ->capture_default_str();
  sub->add_flag("--double-quant", q->double_quant,
                "nf4 --nf4-format onnx: absmax values quantized to int8 in blocks of 256 (QLoRA)");
  sub->add_option("--fallback", q->fallback,
                  "Scheme for weights the main scheme does not take (e.g. int8-sym for Conv next "
                  "to nf4); default: leave them FP32")
      ->check(CLI::IsMember(schemes));
  std::string algorithms;
  for (const auto& [name, summary] : WeightRoundingAlgorithms()) algorithms += "\n  " + name + ": " + summary;
  sub->add_option("--weight-algo", q->weight_algo, "How weights are rounded onto the scheme's grid:" + algorithms)
      ->check(CLI::IsMember(Names(WeightRoundingAlgorithms())))
      ->capture_default_str();
  sub->add_option("--gptq-damp", q->gptq_damp,
                  "gptq: dampening added to the diagonal of X^T X, as a fraction of its mean")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option_function<int64_t>(
         "--hessian-budget-mb", [q](const int64_t& mb) { q->hessian_budget_bytes = mb << 20; },
         "gptq: the most MB of X^T X held at once; the model is run over --calib in segments of layers "
         "whose X^T X fit it, each segment rounded before the next (the result does not depend on it). "
         "Default 512")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 30));
  sub->add_option("--embeddings", q->embeddings,
                  "Embedding tables (float Gather data): keep (FP32, the default), int8 (per row, "
                  "DequantizeLinear -> Gather) or 4bit (blocks along the row: int4 as the scheme, as "
                  "DequantizeLinear-21 or com.microsoft GatherBlockQuantized with --int4-format ort; nf4 decoded "
                  "by standard ops). A table the lm_head reads too (tied) is stored once, in the more "
                  "precise of --embeddings and --lm-head")
      ->check(CLI::IsMember({"keep", "int8", "4bit"}))
      ->capture_default_str();
  sub->add_option("--lm-head", q->lm_head,
                  "A decoder LLM's lm_head (the MatMul producing logits): keep (FP32), int8 (per output "
                  "channel, DequantizeLinear -> MatMul) or same (the scheme's form); default int8 for nf4, "
                  "int4-sym and int4-asym, same for the others")
      ->check(CLI::IsMember({"keep", "int8", "same"}));
  sub->add_option("--accuracy-level", q->accuracy_level,
                  "int4-sym/int4-asym --int4-format ort: MatMulNBits' accuracy_level attribute, 0-4 (the "
                  "lowest precision ONNX Runtime may compute in: 0 unset, 1 fp32, 2 fp16, 3 bf16, 4 int8)")
      ->check(CLI::Range(0, 4));
  sub->add_option_function<double>(
         "--smoothquant", [q](const double& alpha) { q->smoothquant_alpha = alpha; },
         "Static int8 schemes, with --calib: move MatMul/Gemm input outlier channels into the weights, "
         "s = max|X|^ALPHA / max|W|^(1-ALPHA) per input channel, 1/s folded exactly into the LayerNorm/RMSNorm, "
         "constant Mul or constant MatMul before (ALPHA in [0, 1], e.g. 0.5)")
      ->type_name("ALPHA")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_flag("--equalize", q->equalize,
                "Cross-layer equalization: rescale the channels of Conv -> (Relu, pooling, ...) -> Conv pairs so "
                "both weights' per-channel ranges are equal; kept only when the FP32 outputs stay within 1e-5 "
                "(checked on --calib, else a generated sample); the report lists every pair");
  sub->add_flag("--bias-correction", q->bias_correction,
                "With --calib: subtract each quantized Conv/Gemm/MatMul(+Add) layer's mean output error "
                "(W_q - W) E[x], E[x] from the FP32 model on the calibration data, from its bias (a zero bias "
                "is added to a Conv/Gemm without one)");
  sub->add_flag("--gptq-act-order", q->gptq_act_order,
                "gptq: round the input columns by decreasing X^T X diagonal (block parameters then "
                "come from the original weights)");
}

}  // namespace

void AddQuantizeFlags(CLI::App* sub, QuantizeFlags* flags, bool gguf_schemes) {
  QuantizeOptions* q = &flags->options;
  const std::vector<std::string> schemes = Names(Schemes());
  std::vector<std::string> accepted = schemes;
  if (gguf_schemes) {
    for (const GgufSchemeDescription& s : GgufSchemes()) accepted.push_back(s.name);
  }
  sub->add_option("--scheme", q->scheme, "Quantization scheme (see pq schemes)")
      ->check(CLI::IsMember(accepted))
      ->capture_default_str();
  AddCalibrationFlags(sub, q);
  AddWeightFlags(sub, q, schemes);
  sub->add_option("--granularity", flags->granularity, "Weight granularity")
      ->check(CLI::IsMember({"per-channel", "per-tensor"}))
      ->capture_default_str();
  sub->add_option("--op-types", flags->op_types, "Op types to quantize (comma-separated)")
      ->capture_default_str();
  sub->add_option("--exclude-nodes", q->exclude_nodes, "Node names to leave FP32")->delimiter(',');
  sub->add_option("--exclude-op-types", q->exclude_op_types, "Op types to leave FP32")->delimiter(',');
  sub->add_flag("--no-fold-batchnorm", [q](int64_t) { q->fold_batchnorm = false; },
                "Keep BatchNormalization nodes instead of folding them into Conv");
  sub->add_option("--threads", q->threads, "Threads (0 = all cores)")->check(CLI::NonNegativeNumber);
}

QuantizeOptions QuantizeOptionsFrom(const QuantizeFlags& flags) {
  QuantizeOptions q = flags.options;
  q.per_channel = flags.granularity == "per-channel";
  q.op_types = SplitNameList(flags.op_types);
  return q;
}

Status ReadOverridesOfConfig(const CLI::App& sub, QuantizeOptions* options) {
  const CLI::App* app = sub.get_parent();
  const CLI::Option* config = app == nullptr ? nullptr : app->get_option_no_throw("--config");
  if (config == nullptr || config->count() == 0) return Status::OK();
  Result<std::vector<WeightOverride>> overrides = ReadConfigOverrides(config->as<std::string>());
  if (!overrides.ok()) return overrides.status();
  options->overrides = std::move(overrides).value();
  return Status::OK();
}

}  // namespace pq::cli
