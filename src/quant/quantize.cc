// Quantize: prepare the FP32 model, plan, calibrate, compute parameters with
// the scheme, write QDQ, and record exactly what was written.
#include "pq/quantize.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <random>

#include "io/external_data.h"
#include "onnx/onnx_pb.h"
#include "pq/executor.h"
#include "quant/blocked_dq_writer.h"
#include "quant/blockwise_record.h"
#include "quant/linear_quant.h"
#include "quant/opset_upgrade.h"
#include "quant/plan.h"
#include "quant/prepare.h"
#include "quant/qdq_writer.h"
#include "quant/scheme.h"

namespace pq {
namespace {

// Per-axis QuantizeLinear/DequantizeLinear need this default-domain opset;
// QuantizeLinear/DequantizeLinear exist from opset 10.
constexpr int64_t kPerAxisOpset = 13;
constexpr int64_t kMinQdqOpset = 10;
// Relative L2 difference allowed between a model and its opset conversion.
constexpr double kConversionTolerance = 1e-5;
// Block sizes the blockwise schemes accept.
constexpr int64_t kMinBlockSize = 16;
constexpr int64_t kMaxBlockSize = 4096;

// A constant's float values: the model's own bytes when they are aligned for
// float access (no copy of a large weight), else a copy.
class FloatValues {
 public:
  explicit FloatValues(std::vector<float> values) : copy_(std::move(values)) {
    data_ = copy_.data();
    size_ = copy_.size();
  }
  explicit FloatValues(const ConstantTensor& c) : size_(static_cast<size_t>(c.element_count)) {
    if (reinterpret_cast<uintptr_t>(c.data) % alignof(float) == 0) {
      data_ = reinterpret_cast<const float*>(c.data);
    } else {
      copy_.resize(size_);
      if (c.byte_size > 0) std::memcpy(copy_.data(), c.data, static_cast<size_t>(c.byte_size));
      data_ = copy_.data();
    }
  }
  const float* data() const { return data_; }
  size_t size() const { return size_; }
  float operator[](size_t i) const { return data_[i]; }

 private:
  std::vector<float> copy_;
  const float* data_ = nullptr;
  size_t size_ = 0;
};

std::vector<ConsumerRef> ConsumersOf(const onnx::GraphProto& graph, const std::vector<quant::Use>& uses) {
  std::vector<ConsumerRef> out;
  for (const quant::Use& use : uses) {
    const onnx::NodeProto& node = graph.node(use.first);
    out.push_back({node.name().empty() ? "#" + std::to_string(use.first) : node.name(), node.op_type()});
  }
  return out;
}

// Runs both models on one fixed-seed input and compares their outputs.
Status CheckSameOutputs(const Model& a, const Model& b, int threads) {
  ExecutorOptions options;
  options.threads = threads;
  Result<std::unique_ptr<Executor>> ea = Executor::Create(a, options);
  if (!ea.ok()) return ea.status();
  Result<std::unique_ptr<Executor>> eb = Executor::Create(b, options);
  if (!eb.ok()) return eb.status();
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::map<std::string, Tensor> feeds;
  for (const TensorInfo& info : ea.value()->inputs()) {
    if (info.dtype != kFloat) return Status::NotSupported("non-float input '" + info.name + "'");
    std::vector<int64_t> dims = info.dims;
    for (int64_t& d : dims) d = d < 0 ? 1 : d;
    Result<Tensor> t = Tensor::Allocate(kFloat, dims);
    if (!t.ok()) return t.status();
    for (int64_t i = 0; i < t->size(); ++i) t->data<float>()[i] = dist(rng);
    feeds[info.name] = std::move(t).value();
  }
  Result<std::vector<Tensor>> ra = ea.value()->Run(feeds);
  if (!ra.ok()) return ra.status();
  Result<std::vector<Tensor>> rb = eb.value()->Run(feeds);
  if (!rb.ok()) return rb.status();
  for (size_t o = 0; o < ra->size(); ++o) {
    const Tensor& x = (*ra)[o];
    const Tensor& y = (*rb)[o];
    if (x.shape() != y.shape() || x.dtype() != kFloat || y.dtype() != kFloat) {
      return Status::InvalidInput("output " + std::to_string(o) + " differs in shape or type");
    }
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < x.size(); ++i) {
      const double d = x.data<float>()[i] - y.data<float>()[i];
      diff += d * d;
      norm += static_cast<double>(x.data<float>()[i]) * x.data<float>()[i];
    }
    if (std::sqrt(diff) > kConversionTolerance * std::max(std::sqrt(norm), 1e-12)) {
      return Status::InvalidInput("output " + std::to_string(o) + " differs after conversion");
    }
  }
  return Status::OK();
}

// Gives `model` an opset that can hold per-axis parameters when asked.
// Returns the model to quantize (possibly converted) and whether per-axis is
// possible.
Result<std::unique_ptr<Model>> PrepareOpset(std::unique_ptr<Model> model, bool want_per_channel,
                                            int threads, QuantizeOutcome* outcome) {
  const int64_t opset = model->OpsetVersion("");
  outcome->per_channel = want_per_channel;
  if (opset >= kPerAxisOpset || (!want_per_channel && opset >= kMinQdqOpset)) return model;
  if (want_per_channel) {
    Result<std::unique_ptr<Model>> converted = quant::ConvertOpset(*model, kPerAxisOpset);
    Status same = converted.ok() ? CheckSameOutputs(*model, *converted.value(), threads)
                                 : converted.status();
    if (same.ok()) {
      outcome->transformations.push_back("converted the default-domain opset from " +
                                         std::to_string(opset) + " to " +
                                         std::to_string(kPerAxisOpset) +
                                         " (onnx version converter); outputs verified equal");
      return std::move(converted).value();
    }
    if (opset < kMinQdqOpset) {
      return Status::NotSupported(model->origin() + ": opset " + std::to_string(opset) +
                                  " has no QuantizeLinear and conversion to opset " +
                                  std::to_string(kPerAxisOpset) + " failed: " + same.message());
    }
    outcome->per_channel = false;
    outcome->warnings.push_back("per-channel weights need opset " + std::to_string(kPerAxisOpset) +
                                " and converting from opset " + std::to_string(opset) +
                                " failed (" + same.message() + "); weights are per-tensor");
    return model;
  }
  return Status::NotSupported(model->origin() + ": opset " + std::to_string(opset) +
                              " has no QuantizeLinear (needs " + std::to_string(kMinQdqOpset) + ")");
}

// Gives `model` default-domain opset 21 (blocked DequantizeLinear with int4):
// onnx's converter up to 13 when lower, then pq's own upgrade, and checks
// that the FP32 outputs did not change. Errors (kNotSupported) name what
// stood in the way and that --int4-format ort works at any opset.
Result<std::unique_ptr<Model>> PrepareBlockedDqOpset(std::unique_ptr<Model> model, int threads,
                                                     QuantizeOutcome* outcome) {
  const int64_t opset = model->OpsetVersion("");
  if (opset >= quant::kBlockedDqOpset) return model;
  auto refuse = [&](const Status& why) {
    return Status::NotSupported("--int4-format onnx needs default-domain opset " +
                                std::to_string(quant::kBlockedDqOpset) + " and the model (opset " +
                                std::to_string(opset) + ") cannot be upgraded: " + why.message() +
                                "; --int4-format ort works at any opset");
  };
  const Model* base = model.get();
  std::unique_ptr<Model> converted;
  if (opset < kPerAxisOpset) {
    Result<std::unique_ptr<Model>> c = quant::ConvertOpset(*model, kPerAxisOpset);
    if (!c.ok()) return refuse(c.status());
    converted = std::move(c).value();
    base = converted.get();
  }
  int rewritten = 0;
  Result<std::unique_ptr<Model>> upgraded =
      quant::UpgradeOpset(*base, quant::kBlockedDqOpset, &rewritten);
  if (!upgraded.ok()) return refuse(upgraded.status());
  // Running both FP32 models costs time and memory in proportion to the
  // weights; it is needed only when a node changed. Otherwise the graph is
  // the same nodes under a newer opset whose meaning UpgradeOpset vouches for.
  std::string check = "no node needed rewriting";
  if (converted || rewritten > 0) {
    Status same = CheckSameOutputs(*model, *upgraded.value(), threads);
    if (!same.ok()) return refuse(same);
    check = std::to_string(rewritten) + " node(s) rewritten; outputs verified equal";
  }
  outcome->transformations.push_back(
      "upgraded the default-domain opset from " + std::to_string(opset) + " to " +
      std::to_string(quant::kBlockedDqOpset) + (converted ? " (onnx version converter to 13, then pq)" : " (pq)") +
      " for blocked DequantizeLinear; " + check);
  return std::move(upgraded).value();
}

}  // namespace

const char* TensorRoleName(TensorRole role) {
  switch (role) {
    case TensorRole::kWeight: return "weight";
    case TensorRole::kBias: return "bias";
    case TensorRole::kActivation: return "activation";
  }
  return "?";
}

std::vector<std::pair<std::string, std::string>> Schemes() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const quant::SchemeEntry& entry : quant::SchemeTable()) {
    out.emplace_back(entry.name, entry.create({})->Summary());
  }
  return out;
}

Result<QuantizeOutcome> Quantize(const Model& model, const QuantizeOptions& options,
                                 const std::function<void(int64_t, int64_t)>& progress) {
  if (options.block_size != 0 &&
      (options.block_size < kMinBlockSize || options.block_size > kMaxBlockSize ||
       (options.block_size & (options.block_size - 1)) != 0)) {
    return Status::InvalidArgument("block size " + std::to_string(options.block_size) +
                                   " is not a power of two from 16 to 4096");
  }
  if (options.nf4_format != "ort" && options.nf4_format != "onnx") {
    return Status::InvalidArgument("nf4 format '" + options.nf4_format + "' is not ort or onnx");
  }
  if (options.int4_format != "ort" && options.int4_format != "onnx") {
    return Status::InvalidArgument("int4 format '" + options.int4_format + "' is not ort or onnx");
  }
  quant::SchemeOptions scheme_options;
  scheme_options.symmetric_weights = options.symmetric_weights;
  scheme_options.block_size = options.block_size;
  scheme_options.nf4_format = options.nf4_format;
  scheme_options.int4_format = options.int4_format;
  scheme_options.double_quant = options.double_quant;
  Result<std::unique_ptr<quant::Scheme>> scheme_or = quant::MakeScheme(options.scheme, scheme_options);
  if (!scheme_or.ok()) return scheme_or.status();
  const quant::Scheme& scheme = *scheme_or.value();
  std::unique_ptr<quant::Scheme> fallback;
  if (!options.fallback.empty()) {
    Result<std::unique_ptr<quant::Scheme>> f = quant::MakeScheme(options.fallback, scheme_options);
    if (!f.ok()) return f.status().WithPrefix("--fallback");
    fallback = std::move(f).value();
  }
  auto writes_dq = [](const quant::Scheme* s) {
    return s != nullptr && s->Encoding() == quant::WeightEncoding::kDequantizeLinear;
  };
  auto writes = [&](quant::WeightEncoding e) {
    return scheme.Encoding() == e || (fallback != nullptr && fallback->Encoding() == e);
  };
  const bool static_mode = !options.weights_only && scheme.QuantizesActivations();
  if (static_mode && options.calib_paths.empty()) {
    return Status::InvalidArgument("scheme " + options.scheme +
                                   " quantizes activations and needs calibration data: pass "
                                   "--calib PATH (or --weights-only to quantize weights alone)");
  }
  QuantizeOutcome outcome;
  if (options.double_quant) {
    if (writes(quant::WeightEncoding::kCodebookDecode)) {
      outcome.double_quant_applied = true;
    } else {
      outcome.warnings.push_back(
          options.scheme == "nf4"
              ? "--double-quant applies to --nf4-format onnx: ONNX Runtime's MatMulBnb4 reads "
                "float32 absmax, so the absmax values are stored unquantized"
              : "--double-quant applies to nf4 (--nf4-format onnx) only; ignored for " +
                    options.scheme);
    }
  }

  // Prepare: fold BatchNormalization, reach an opset for per-axis params.
  std::unique_ptr<Model> prepared;
  if (options.fold_batchnorm) {
    std::vector<quant::FoldedBatchNorm> folded;
    Result<std::unique_ptr<Model>> f = quant::FoldBatchNorms(model, &folded);
    if (!f.ok()) return f.status();
    prepared = std::move(f).value();
    for (const auto& fb : folded) {
      outcome.transformations.push_back("folded BatchNormalization '" + fb.batchnorm +
                                        "' into Conv '" + fb.conv + "'");
    }
  } else {
    Result<std::unique_ptr<Model>> copy = Model::FromProto(
        std::make_unique<onnx::ModelProto>(model.proto()), model.base_dir(), model.origin());
    if (!copy.ok()) return copy.status();
    prepared = std::move(copy).value();
  }
  // The opset matters to DequantizeLinear (per-axis from 13) and to the
  // standard-ops decode (opset 10); fused com.microsoft forms need neither.
  if (writes_dq(&scheme) || writes_dq(fallback.get()) ||
      writes(quant::WeightEncoding::kCodebookDecode)) {
    const bool per_axis = options.per_channel && (writes_dq(&scheme) || writes_dq(fallback.get()));
    Result<std::unique_ptr<Model>> ready =
        PrepareOpset(std::move(prepared), per_axis, options.threads, &outcome);
    if (!ready.ok()) return ready.status();
    prepared = std::move(ready).value();
  }
  if (writes(quant::WeightEncoding::kBlockedDequantizeLinear)) {
    Result<std::unique_ptr<Model>> ready =
        PrepareBlockedDqOpset(std::move(prepared), options.threads, &outcome);
    if (!ready.ok()) return ready.status().WithPrefix(model.origin());
    prepared = std::move(ready).value();
  }
  const onnx::GraphProto& graph = prepared->proto().graph();

  quant::QuantPlan plan = quant::BuildPlan(*prepared, options, static_mode, outcome.per_channel,
                                           scheme, fallback.get());
  outcome.skipped = plan.skipped;
  outcome.nodes_quantized = static_cast<int64_t>(plan.nodes.size());

  // Calibrate the activations that own their parameters.
  std::map<std::string, CalibratedRange> ranges;
  const std::shared_ptr<CalibrationCache>& cache = options.calibration_cache;
  bool cached = cache != nullptr && cache->filled;
  for (const std::string& t : plan.calibrate) {
    if (cached && cache->ranges.count(t) == 0) cached = false;
  }
  if (static_mode && !plan.calibrate.empty() && cached) {
    for (const std::string& t : plan.calibrate) ranges[t] = cache->ranges.at(t);
    outcome.calibration_files = cache->files;
    outcome.calibration_samples = cache->samples;
    outcome.calibration_batch = cache->batch;
  } else if (static_mode && !plan.calibrate.empty()) {
    // The data first: a calibration set that does not fit fails before the
    // executor copies the weights.
    Result<std::unique_ptr<Dataset>> data =
        Dataset::Open(options.calib_paths, Executor::GraphInputs(*prepared));
    if (!data.ok()) return data.status();
    ExecutorOptions exec_options;
    exec_options.threads = options.threads;
    Result<std::unique_ptr<Executor>> executor = Executor::Create(*prepared, exec_options);
    if (!executor.ok()) return executor.status();
    CalibrationOptions calibration = options.calibration;
    calibration.grid.symmetric = scheme.ActivationSymmetric();
    calibration.grid.qmin = scheme.ActivationQmin();
    calibration.grid.qmax = scheme.ActivationQmax();
    Result<CalibrationResult> result =
        Calibrate(*executor.value(), *data.value(), plan.calibrate, calibration,
                  options.calib_batch, options.calib_samples, progress);
    if (!result.ok()) return result.status();
    ranges = std::move(result->ranges);
    outcome.calibration_files = data.value()->files();
    outcome.calibration_samples = result->samples_used;
    outcome.calibration_batch = result->batch;
    if (cache != nullptr && !cache->filled) {
      cache->filled = true;
      cache->ranges = ranges;
      cache->files = outcome.calibration_files;
      cache->samples = outcome.calibration_samples;
      cache->batch = outcome.calibration_batch;
    }
  }

  // Activation parameters, owners first, then the tensors that share them.
  std::map<std::string, QuantParams> activation_params;
  quant::QdqPlan qdq;
  std::vector<QuantizedTensorRecord> activation_records;
  // Owners first (their ranges are calibrated), then the tensors sharing
  // their parameters, keeping the plan's order in the records.
  for (const quant::PlannedActivation& a : plan.activations) {
    if (!a.shares_params_with.empty()) continue;
    const CalibratedRange& range = ranges.at(a.tensor);
    activation_params[a.tensor] = scheme.ActivationParams(range.chosen_min, range.chosen_max);
  }
  for (const quant::PlannedActivation& a : plan.activations) {
    QuantizedTensorRecord r;
    r.name = a.tensor;
    r.role = TensorRole::kActivation;
    r.consumers = ConsumersOf(graph, a.uses);
    r.scheme = options.scheme;
    r.granularity = "per-tensor";
    if (a.shares_params_with.empty()) {
      r.params = activation_params.at(a.tensor);
      r.range = ranges.at(a.tensor);
    } else {
      r.params = activation_params.at(a.shares_params_with);
      r.shares_params_with = a.shares_params_with;
    }
    activation_params[a.tensor] = r.params;
    if (a.uses.empty()) continue;
    qdq.activations.push_back({a.tensor, r.params, a.uses});
    activation_records.push_back(std::move(r));
  }

  // Weights, then biases (their scale needs the weight's and activation's).
  std::vector<QuantizedTensorRecord> constant_records;
  std::map<std::pair<std::string, int64_t>, QuantParams> weight_params;
  for (const quant::PlannedConstant& c : plan.constants) {
    const ConstantTensor* source = prepared->FindConstant(c.tensor);
    if (source == nullptr) return Status::Internal("planned constant '" + c.tensor + "' vanished");
    const quant::Scheme& weight_scheme = c.scheme != nullptr ? *c.scheme : scheme;
    const bool blockwise = weight_scheme.Encoding() != quant::WeightEncoding::kDequantizeLinear;
    QuantizedTensorRecord r;
    r.name = c.tensor;
    r.role = c.role;
    r.consumers = ConsumersOf(graph, c.uses);
    r.shape = source->dims;
    r.scheme = c.role == TensorRole::kWeight ? weight_scheme.Name() : options.scheme;
    r.granularity = blockwise ? weight_scheme.Granularity() : c.axis >= 0 ? "per-channel" : "per-tensor";
    // Blockwise schemes see the weight as [N, K].
    const FloatValues values = blockwise && c.transposed
                                   ? FloatValues(quant::NkValues(*source, true))
                                   : FloatValues(*source);
    quant::QuantizedWeight q;
    if (c.role == TensorRole::kWeight) {
      std::vector<int64_t> dims = source->dims;
      if (blockwise && c.transposed) std::swap(dims[0], dims[1]);
      quant::WeightView view{c.tensor, values.data(), dims, c.axis};
      Result<quant::QuantizedWeight> qw = weight_scheme.QuantizeWeight(view);
      if (!qw.ok()) return qw.status().WithPrefix(model.origin());
      q = std::move(qw).value();
      weight_params[{c.tensor, c.axis}] = q.params;
    } else {
      const QuantParams& in = activation_params.at(c.activation);
      const QuantParams& w = weight_params.at({c.weight, c.weight_axis});
      q.params.dtype = onnx::TensorProto::INT32;
      q.params.axis = c.axis;
      const size_t n = values.size();
      q.params.scale.resize(c.axis >= 0 ? n : 1);
      for (size_t i = 0; i < q.params.scale.size(); ++i) {
        q.params.scale[i] = in.scale[0] * w.scale[w.scale.size() == 1 ? 0 : i];
      }
      q.params.zero_point.assign(q.params.scale.size(), 0);
      q.data.resize(n * 4);
      std::vector<float> dequantized(n);
      for (size_t i = 0; i < n; ++i) {
        if (!std::isfinite(values[i])) {
          return Status::InvalidInput(model.origin() + ": bias '" + c.tensor + "' holds NaN or Inf");
        }
        const float s = q.params.scale[c.axis >= 0 ? i : 0];
        const int64_t v = quant::QuantizeValue(values[i], s, 0, INT32_MIN, INT32_MAX);
        const int32_t v32 = static_cast<int32_t>(v);
        std::memcpy(&q.data[i * 4], &v32, 4);
        dequantized[i] = static_cast<float>(v32) * s;
      }
      q.error = ComputeErrorMetrics(values.data(), dequantized.data(), static_cast<int64_t>(n));
    }
    r.params = q.params;
    r.error = q.error;
    // The FP32 bytes of an external weight are read: let the kernel drop
    // their pages (they come back from the file if read again), so peak
    // memory stays near the output's size rather than the input's.
    if (source->external) {
      ExternalDataStore::ReleasePages(source->data, source->byte_size);
    }
    quant::ConstantRewrite rewrite;
    rewrite.tensor = c.tensor;
    rewrite.shape = source->dims;
    rewrite.params = q.params;
    rewrite.data = std::move(q.data);
    rewrite.uses = c.uses;
    if (blockwise) {
      rewrite.encoding = weight_scheme.Encoding();
      rewrite.transposed = c.transposed;
      if (rewrite.encoding == quant::WeightEncoding::kBlockedDequantizeLinear) {
        // The record holds the parameters as written (the constant's layout).
        r.params = quant::BlockedDqParams(*q.blockwise, c.transposed);
      }
      quant::RecordBlockwise(q, rewrite.encoding, &r);
      rewrite.blockwise = std::move(q.blockwise);
    }
    qdq.constants.push_back(std::move(rewrite));
    constant_records.push_back(std::move(r));
  }

  std::vector<quant::WrittenNames> written;
  Result<std::unique_ptr<onnx::ModelProto>> proto = quant::WriteQdq(prepared->proto(), std::move(qdq), &written);
  if (!proto.ok()) return proto.status();
  Result<std::unique_ptr<Model>> quantized =
      Model::FromProto(std::move(proto).value(), prepared->base_dir(), model.origin() + " (quantized)");
  if (!quantized.ok()) return quantized.status().WithPrefix("the quantized model is invalid");
  outcome.model = std::move(quantized).value();

  // Records in written order: constants, then activations.
  size_t k = 0;
  for (auto* records : {&constant_records, &activation_records}) {
    for (QuantizedTensorRecord& r : *records) {
      const quant::WrittenNames& w = written[k++];
      r.quantized_name = w.quantized;
      r.scale_name = w.scale;
      r.zero_point_name = w.zero_point;
      r.dequantized_name = w.dequantized;
      r.written_nodes = w.nodes;
      if (r.double_quant) {
        r.double_quant->scales_name = w.scale_scales;
        r.double_quant->offset_name = w.scale_offset;
      }
      outcome.tensors.push_back(std::move(r));
    }
  }
  return outcome;
}

}  // namespace pq
