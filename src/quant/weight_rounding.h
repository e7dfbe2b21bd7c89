// Weight rounding: how a weight's FP32 values are put onto its scheme's grid.
// The scheme owns the grid (which values exist, how scales and zero points
// are chosen); a rounding algorithm decides which grid value each weight
// takes. Round-to-nearest asks the scheme directly; algorithms that use
// calibration data (GPTQ, AWQ, ...) are further rows of the table, reading
// what they need from RoundingInputs. Adding one is one file and one row in
// weight_rounding.cc.
#ifndef PQ_QUANT_WEIGHT_ROUNDING_H_
#define PQ_QUANT_WEIGHT_ROUNDING_H_

#include <memory>
#include <string>
#include <vector>

#include "pq/status.h"
#include "quant/scheme.h"

namespace pq::quant {

struct InputHessian;  // quant/hessian_collector.h
class WeightGrid;     // quant/weight_grid.h

// What a rounding algorithm is handed besides the weight: the node that
// reads it and, for algorithms that use calibration data, X^T X of the
// weight's input (the sum over its uses).
struct RoundingInputs {
  std::string node;
  std::string op_type;
  // Null when there is none; `no_hessian` then says why.
  const InputHessian* hessian = nullptr;
  std::string no_hessian;
  std::vector<std::string> hessian_inputs;  // the activations it sums
  // The grid to round on: the scheme's for how the weight is stored
  // (Scheme::Grid); null = scheme.Grid(weight.channel_axis >= 0, false),
  // the weight handed over as [N, K].
  std::shared_ptr<const WeightGrid> grid;
  // What a stage that rewrote the model before rounding (AWQ's scaling)
  // recorded for this weight; null when there is none.
  const WeightRoundingRecord* planned = nullptr;
};

// The algorithms' settings (QuantizeOptions' --gptq-* flags and threads).
struct WeightRoundingOptions {
  double gptq_damp = 0.01;
  bool gptq_act_order = false;
  int threads = 0;
};

class WeightRounding {
 public:
  virtual ~WeightRounding() = default;
  virtual const char* Name() const = 0;
  // Whether Round needs RoundingInputs::hessian (calibration data).
  virtual bool NeedsCalibrationData() const { return false; }
  // Whether the AWQ stage (awq_stage.h) rewrites the model with
  // per-input-feature scales before Round is called.
  virtual bool ScalesInputs() const { return false; }
  // Whether the algorithm rounds weights of `scheme` as its main scheme;
  // when not, `reason` says why.
  virtual bool TakesScheme(const Scheme& /*scheme*/, std::string* /*reason*/) const { return true; }
  // Quantizes `weight` onto `scheme`'s grid. Same contract and errors as
  // Scheme::QuantizeWeight. Algorithms other than rtn fill in `rounding`.
  virtual Result<QuantizedWeight> Round(const Scheme& scheme, const WeightView& weight,
                                        const RoundingInputs& inputs) const = 0;
};

struct WeightRoundingEntry {
  const char* name;
  const char* summary;  // one line for --help
  std::unique_ptr<WeightRounding> (*create)(const WeightRoundingOptions& options);
};

// Every registered algorithm, in --help order ("rtn" first, the default).
const std::vector<WeightRoundingEntry>& WeightRoundingTable();

// Errors (kInvalidArgument): an unknown name, listing the known ones.
Result<std::unique_ptr<WeightRounding>> MakeWeightRounding(const std::string& name,
                                                           const WeightRoundingOptions& options = {});

// TakesScheme of the algorithms that round on a scheme's grid
// (Scheme::Grid): true when `scheme` has one, else false with reason
// "--weight-algo <does> the weights of the schemes with a grid (<their
// names, from the scheme table>), not <scheme> (use --weight-algo rtn)",
// `does` naming the algorithm and what it does (e.g. "gptq rounds").
bool TakesGridScheme(const Scheme& scheme, const std::string& does, std::string* reason);

std::unique_ptr<WeightRounding> MakeRoundToNearest(const WeightRoundingOptions& options = {});
std::unique_ptr<WeightRounding> MakeGptq(const WeightRoundingOptions& options = {});
std::unique_ptr<WeightRounding> MakeAwq(const WeightRoundingOptions& options = {});

}  // namespace pq::quant

#endif  // PQ_QUANT_WEIGHT_ROUNDING_H_
