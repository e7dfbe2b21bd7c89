// gptq: GPTQ weight rounding on the grid of a weight's scheme
// (Scheme::Grid: nf4, int4-sym, int4-asym, and the int8 schemes per channel
// or per tensor), from X^T X of the weight's input over --calib data (the
// arithmetic is in gptq_solver.h). A weight GPTQ cannot round falls back to
// round-to-nearest and its record says why: a scheme without a grid, a
// weight that is not a MatMul/Gemm weight, an input that is a constant or 0
// on every row, X^T X still singular after dampening. And since both are
// measured on the same data, when round-to-nearest gives the layer the
// lower output error it is kept.
#include <cstdio>

#include "quant/finite_check.h"
#include "quant/gptq_solver.h"
#include "quant/hessian_collector.h"
#include "quant/weight_grid.h"
#include "quant/weight_rounding.h"
#include "util/json_number.h"

namespace pq::quant {
namespace {

class Gptq : public WeightRounding {
 public:
  explicit Gptq(const WeightRoundingOptions& options) {
    settings_.damp = options.gptq_damp;
    settings_.act_order = options.gptq_act_order;
    settings_.threads = options.threads;
  }
  const char* Name() const override { return "gptq"; }
  bool NeedsCalibrationData() const override { return true; }
  bool TakesScheme(const Scheme& scheme, std::string* reason) const override {
    return TakesGridScheme(scheme, "gptq rounds", reason);
  }

  Result<QuantizedWeight> Round(const Scheme& scheme, const WeightView& weight,
                                const RoundingInputs& inputs) const override {
    WeightRoundingRecord record;
    record.requested = Name();
    record.damp = settings_.damp;
    record.act_order = settings_.act_order;
    record.inputs = inputs.hessian_inputs;
    const std::shared_ptr<const WeightGrid> chosen =
        inputs.grid != nullptr ? inputs.grid : scheme.Grid(weight.channel_axis >= 0, false);
    if (chosen == nullptr) return RoundToNearest(scheme, weight, std::string(scheme.Name()) + " has no grid", record);
    if (inputs.hessian == nullptr) return RoundToNearest(scheme, weight, inputs.no_hessian, record);
    const WeightGrid& grid = *chosen;
    std::vector<float> storage;
    int64_t n = 0, k = 0;
    const float* w = grid.Rows(weight, &n, &k, &storage);
    const InputHessian& h = *inputs.hessian;
    record.rows = h.rows;
    if (h.xtx.rows() != k) {
      return Status::Internal("gptq: X^T X of '" + weight.name + "' is " + std::to_string(h.xtx.rows()) +
                              " x " + std::to_string(h.xtx.rows()) + " for K = " + std::to_string(k));
    }
    PQ_RETURN_IF_ERROR(CheckFinite(weight.name, w, n * k));
    if ((h.xtx.diagonal().array() == 0).all()) {
      return RoundToNearest(scheme, weight, "its input was 0 on every calibration row", record);
    }
    const std::vector<int64_t> order = settings_.act_order ? ActOrder(h.xtx) : std::vector<int64_t>{};
    Result<GptqFactor> factor = FactorHessian(order.empty() ? h.xtx : Permuted(h.xtx, order), settings_.damp);
    if (!factor.ok()) return RoundToNearest(scheme, weight, factor.status().message(), record);
    record.lambda = factor->lambda;
    record.dead_inputs = factor->dead_inputs;

    const GptqRounded rounded = GptqRound(grid, w, n, k, factor.value(), order, settings_);
    record.static_groups = rounded.static_groups;
    record.lazy_batch = rounded.lazy_batch;
    // GPTQ's values are grid values, which RoundToGrid gives back unchanged:
    // they are what the written model reads back, so no dequantized copy of
    // them is made (on an lm_head of 2048 x 32000, 262 MB).
    Result<QuantizedWeight> gptq = grid.QuantizeWithParams(weight, rounded.values.data(), rounded.params, nullptr);
    if (!gptq.ok()) return gptq.status();
    std::vector<float> rtn_values;
    const std::vector<BlockParams> rtn_params = grid.FitBlocks(w, n, k);
    Result<QuantizedWeight> rtn = grid.QuantizeWithParams(weight, w, rtn_params, &rtn_values);
    if (!rtn.ok()) return rtn.status();
    const std::optional<std::vector<double>> errors =
        RelativeOutputErrors(w, {rtn_values.data(), rounded.values.data()}, n, k, h.xtx, settings_.threads);
    if (errors) {
      record.output_error_rtn = (*errors)[0];
      record.output_error = (*errors)[1];
    }
    if (errors && (*errors)[1] > (*errors)[0]) {
      record.applied = "rtn";
      record.fallback = "round-to-nearest gave the lower output error on the calibration data (" +
                        MessageNumber((*errors)[0]) + " against gptq's " + MessageNumber((*errors)[1]) + ")";
      rtn->rounding = record;
      return rtn;
    }
    record.applied = Name();
    gptq->rounding = record;
    return gptq;
  }

 private:
  Result<QuantizedWeight> RoundToNearest(const Scheme& scheme, const WeightView& weight, const std::string& why,
                                         WeightRoundingRecord record) const {
    Result<QuantizedWeight> q = scheme.QuantizeWeight(weight);
    if (!q.ok()) return q;
    record.applied = "rtn";
    record.fallback = why;
    q->rounding = std::move(record);
    return q;
  }

  GptqSettings settings_;
};

}  // namespace

std::unique_ptr<WeightRounding> MakeGptq(const WeightRoundingOptions& options) {
  return std::make_unique<Gptq>(options);
}

}  // namespace pq::quant
