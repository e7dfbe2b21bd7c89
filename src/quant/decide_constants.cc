// Decide, constants: weights rounded on their scheme's grid, then biases
// (their scale needs the input activation's and the weight's).
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <utility>

#include "quant/bias_quant.h"
#include "quant/blocked_dq_writer.h"
#include "quant/blockwise_record.h"
#include "quant/constant_writers.h"
#include "quant/decide.h"
#include "quant/float_type.h"

namespace pq::quant {
namespace {

// A constant's float values: the model's own bytes when they are aligned for
// float access (no copy of a large weight), else a copy.
class FloatValues {
 public:
  explicit FloatValues(std::vector<float> values) : copy_(std::move(values)) {
    data_ = copy_.data();
    size_ = copy_.size();
  }
  explicit FloatValues(const ConstantTensor& c) : size_(static_cast<size_t>(c.element_count)) {
    if (c.data_type != kFloat) {  // float16, bfloat16: read as float32
      copy_ = ReadFloats(c);
      data_ = copy_.data();
    } else if (reinterpret_cast<uintptr_t>(c.data) % alignof(float) == 0) {
      data_ = reinterpret_cast<const float*>(c.data);
    } else {
      copy_.resize(size_);
      if (c.byte_size > 0) std::memcpy(copy_.data(), c.data, static_cast<size_t>(c.byte_size));
      data_ = copy_.data();
    }
  }
  const float* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  std::vector<float> copy_;
  const float* data_ = nullptr;
  size_t size_ = 0;
};

using WeightParams = std::map<std::pair<std::string, int64_t>, QuantParams>;

// The numbers of one planned constant, read by `consumers`.
Result<QuantizedWeight> QuantizeConstant(const PlannedConstant& c, const ConstantTensor& source,
                                         const Scheme& scheme, const WeightRounding& rounding,
                                         const Model& prepared, const LayerHessians& hessians,
                                         const std::vector<ConsumerRef>& consumers,
                                         const std::map<std::string, QuantParams>& activation_params,
                                         const std::map<std::string, WeightRoundingRecord>* planned,
                                         WeightParams* weight_params) {
  const bool blockwise = IsBlockwise(scheme);
  // Blockwise schemes see the weight as [N, K].
  const FloatValues values = blockwise && c.transposed ? FloatValues(NkValues(source, true))
                                                       : FloatValues(source);
  // A float16/bfloat16 constant's scales are written in its type: the
  // record holds them as written.
  auto as_written = [&](Result<QuantizedWeight> q) {
    if (!q.ok() || source.data_type == kFloat) return q;
    q->params.scale = RoundedTo(std::move(q->params.scale), source.data_type);
    if (q->blockwise) q->blockwise->scales = RoundedTo(std::move(q->blockwise->scales), source.data_type);
    return q;
  };
  if (c.role != TensorRole::kWeight) {
    return as_written(QuantizeBias(c.tensor, values.data(), values.size(), c.axis,
                                   activation_params.at(c.activation), weight_params->at({c.weight, c.weight_axis})));
  }
  std::vector<int64_t> dims = source.dims;
  if (blockwise && c.transposed) std::swap(dims[0], dims[1]);
  const WeightView view{c.tensor, values.data(), dims, c.axis};
  RoundingInputs inputs;
  if (!consumers.empty()) {
    inputs.node = consumers.front().node;
    inputs.op_type = consumers.front().op_type;
  }
  InputHessian summed;
  if (rounding.NeedsCalibrationData() && !c.table) {
    inputs.grid = GridOf(prepared, c, &inputs.no_hessian);
    if (inputs.grid != nullptr) {
      inputs.hessian = HessianOf(prepared, c, hessians, &summed, &inputs.hessian_inputs, &inputs.no_hessian);
    }
  }
  if (planned != nullptr) {
    auto it = planned->find(c.tensor);
    if (it != planned->end()) inputs.planned = &it->second;
  }
  // Embedding tables are rounded to nearest: they are read, not multiplied
  // by calibrated activations.
  Result<QuantizedWeight> q =
      as_written(c.table ? scheme.QuantizeWeight(view) : rounding.Round(scheme, view, inputs));
  if (q.ok()) (*weight_params)[{c.tensor, c.axis}] = q->params;
  return q;
}

// The record and rewrite of one quantized constant.
ConstantDecision MakeDecision(const PlannedConstant& c, const ConstantTensor& source, const Scheme& scheme,
                              std::vector<ConsumerRef> consumers, const QuantizeOptions& options,
                              QuantizedWeight q) {
  const std::string& scheme_name = options.scheme;
  const bool blockwise = IsBlockwise(scheme);
  ConstantDecision d;
  QuantizedTensorRecord& r = d.record;
  r.name = c.tensor;
  r.role = c.role;
  r.consumers = std::move(consumers);
  r.shape = source.dims;
  r.from_dtype = source.data_type;
  r.scheme = c.role == TensorRole::kWeight ? scheme.Name() : scheme_name;
  r.granularity = blockwise ? scheme.Granularity() : c.axis >= 0 ? "per-channel" : "per-tensor";
  r.params = q.params;
  r.error = q.error;
  r.rounding = std::move(q.rounding);
  r.selected_by = c.selected_by;
  r.selection_value = c.selection_value;
  r.override_pattern = c.override_pattern;
  r.selection_note = c.selection_note;
  ConstantRewrite& w = d.rewrite;
  w.tensor = c.tensor;
  w.shape = source.dims;
  w.params = q.params;
  w.data = std::move(q.data);
  w.uses = c.uses;
  w.float_type = source.data_type;
  w.encoding = c.role != TensorRole::kWeight ? WeightEncoding::kDequantizeLinear : c.encoding.value_or(scheme.Encoding());
  if (w.encoding == WeightEncoding::kMatMulNBits && options.accuracy_level >= 0) {
    w.accuracy_level = options.accuracy_level;
    r.accuracy_level = options.accuracy_level;
  }
  if (w.encoding == WeightEncoding::kDynamicMatMul) {
    // The int8 weight, its scales and zero points replace the FP32 weight.
    r.written_form = ConstantWriterFor(w.encoding).form;
    r.stored_bytes = static_cast<int64_t>(w.data.size() + q.params.scale.size() * (sizeof(float) + 1));
  }
  if (blockwise) {
    w.transposed = c.transposed;
    // The record holds the parameters as written (the constant's layout).
    if (w.encoding == WeightEncoding::kBlockedDequantizeLinear) r.params = BlockedDqParams(*q.blockwise, c.transposed);
    RecordBlockwise(q, w.encoding, &r);
    // GatherBlockQuantized reads symmetric codes as uint4 with zero point 8.
    if (w.encoding == WeightEncoding::kGatherBlockQuantized) r.storage_type = "uint4";
    w.blockwise = std::move(q.blockwise);
  }
  return d;
}

// Decides planned constants one at a time, each with the Hessians current
// when it is decided; keeps the decisions and warnings in plan order,
// whatever order the constants come in.
class ConstantDecider {
 public:
  ConstantDecider(const Model& prepared, const QuantPlan& plan, const SchemeSet& schemes,
                  const WeightRounding& rounding, const QuantizeOptions& options, const std::string& origin,
                  const std::map<std::string, QuantParams>& activation_params,
                  const std::map<std::string, WeightRoundingRecord>* planned)
      : prepared_(prepared), plan_(plan), schemes_(schemes), rounding_(rounding), options_(options),
        origin_(origin), activation_params_(activation_params), planned_(planned),
        decided_(plan.constants.size()), warnings_(plan.constants.size()) {}

  bool Decided(size_t i) const { return decided_[i].has_value(); }

  // Decides plan.constants[i]. REQUIRES: !Decided(i); a bias's weight decided.
  Status Decide(size_t i, const LayerHessians& hessians) {
    const PlannedConstant& c = plan_.constants[i];
    const ConstantTensor* source = prepared_.FindConstant(c.tensor);
    if (source == nullptr) return Status::Internal("planned constant '" + c.tensor + "' vanished");
    const Scheme& scheme = c.scheme != nullptr ? *c.scheme : *schemes_.main;
    std::vector<ConsumerRef> consumers = ConsumersOf(prepared_, c.uses);
    Result<QuantizedWeight> q = QuantizeConstant(c, *source, scheme, rounding_, prepared_, hessians, consumers,
                                                 activation_params_, planned_, &weight_params_);
    if (!q.ok()) return q.status().WithPrefix(origin_);
    // Warn when the algorithm could not run (not when it ran and lost).
    if (q->rounding && q->rounding->applied != q->rounding->requested && !q->rounding->output_error &&
        scheme.Grid(c.axis >= 0, false) != nullptr) {
      warnings_[i] = q->rounding->requested + " could not round weight '" + c.tensor +
                     "', rounded to nearest instead: " + q->rounding->fallback;
    }
    // The FP32 bytes of an external weight are read: let the kernel drop
    // their pages (they come back from the file if read again), so peak
    // memory stays near the output's size rather than the input's.
    ReleaseConstantPages(*source);
    decided_[i] = MakeDecision(c, *source, scheme, std::move(consumers), options_, std::move(q).value());
    return Status::OK();
  }

  // The decisions in plan order. REQUIRES: every constant decided.
  void MoveTo(Decisions* decisions) {
    for (size_t i = 0; i < decided_.size(); ++i) {
      decisions->constants.push_back(std::move(*decided_[i]));
      if (!warnings_[i].empty()) decisions->warnings.push_back(std::move(warnings_[i]));
    }
  }

 private:
  const Model& prepared_;
  const QuantPlan& plan_;
  const SchemeSet& schemes_;
  const WeightRounding& rounding_;
  const QuantizeOptions& options_;
  const std::string& origin_;
  const std::map<std::string, QuantParams>& activation_params_;
  const std::map<std::string, WeightRoundingRecord>* planned_;
  WeightParams weight_params_;
  std::vector<std::optional<ConstantDecision>> decided_;
  std::vector<std::string> warnings_;
};

}  // namespace

Result<Decisions> Decide(const Model& prepared, const QuantPlan& plan, const ActivationStats& stats,
                         HessianFeed* hessians, const SchemeSet& schemes, const WeightRounding& rounding,
                         const QuantizeOptions& options, const std::string& origin,
                         const std::map<std::string, WeightRoundingRecord>* planned) {
  Decisions decisions;
  std::map<std::string, QuantParams> activation_params;
  Result<std::vector<ActivationDecision>> activations =
      DecideActivations(prepared, plan, stats, *schemes.main, options.scheme, &activation_params);
  if (!activations.ok()) return activations.status();
  decisions.activations = std::move(activations).value();
  ConstantDecider decider(prepared, plan, schemes, rounding, options, origin, activation_params, planned);
  // The constants that need Hessians, a segment at a time (each segment's
  // Hessians freed before the next is summed), then the rest in plan order.
  while (hessians != nullptr) {
    Result<bool> more = hessians->Next();
    if (!more.ok()) return more.status();
    if (!more.value()) break;
    for (size_t i : hessians->ready()) PQ_RETURN_IF_ERROR(decider.Decide(i, hessians->hessians()));
  }
  const LayerHessians none;
  for (size_t i = 0; i < plan.constants.size(); ++i) {
    if (!decider.Decided(i)) PQ_RETURN_IF_ERROR(decider.Decide(i, none));
  }
  decider.MoveTo(&decisions);
  return decisions;
}

}  // namespace pq::quant
