#include "quant/hessian_stage.h"

#include <algorithm>

#include "pq/executor.h"
#include "quant/calibrate_stage.h"
#include "quant/matmul_replace.h"
#include "quant/weight_grid.h"

namespace pq::quant {
namespace {

// Whether the use `use` (a MatMul or Gemm) reads its weight stored as
// [K, N] (MatMul, Gemm transB = 0) rather than [N, K].
bool StoredAsKn(const onnx::NodeProto& node) { return !(node.op_type() == "Gemm" && AttrInt(node, "transB", 0) != 0); }

// The input whose X^T X the use `use` of weight `c` needs; false with
// `reason` when its data input is a constant.
bool InputOfUse(const Model& prepared, const PlannedConstant& c, const Use& use, HessianInput* in,
                std::string* reason) {
  const onnx::NodeProto& node = prepared.proto().graph().node(use.first);
  const std::string& activation = node.input(0);
  if (prepared.FindConstant(activation) != nullptr) {
    const std::string name = node.name().empty() ? "#" + std::to_string(use.first) : node.name();
    *reason = "the data input '" + activation + "' of " + node.op_type() + " '" + name +
              "' is a constant, so there are no calibration rows to weigh the error by";
    return false;
  }
  const ConstantTensor* w = prepared.FindConstant(c.tensor);
  // Weights are [K, N] or, for Gemm transB=1, [N, K].
  in->tensor = activation;
  in->transposed = node.op_type() == "Gemm" && AttrInt(node, "transA", 0) != 0;
  in->k = w == nullptr || w->dims.size() != 2 ? 0 : StoredAsKn(node) ? w->dims[0] : w->dims[1];
  return true;
}

}  // namespace

std::shared_ptr<const WeightGrid> GridOf(const Model& prepared, const PlannedConstant& c, std::string* reason) {
  if (c.role != TensorRole::kWeight || c.scheme == nullptr || c.table) {
    *reason = "it is not a MatMul/Gemm weight";
    return nullptr;
  }
  if (c.uses.empty()) {
    *reason = "it has no uses";
    return nullptr;
  }
  const ConstantTensor* w = prepared.FindConstant(c.tensor);
  const onnx::GraphProto& graph = prepared.proto().graph();
  bool stored_as_kn = true;
  for (size_t i = 0; i < c.uses.size(); ++i) {
    const onnx::NodeProto& node = graph.node(c.uses[i].first);
    const std::string name = node.name().empty() ? "#" + std::to_string(c.uses[i].first) : node.name();
    if ((node.op_type() != "MatMul" && node.op_type() != "Gemm") || c.uses[i].second != 1 || w == nullptr ||
        w->dims.size() != 2) {
      *reason = "the rounding algorithms take 2-D MatMul/Gemm weights; " + node.op_type() + " '" + name +
                "' reads it otherwise";
      return nullptr;
    }
    if (i > 0 && StoredAsKn(node) != stored_as_kn) {
      *reason = "its uses read it as [K, N] and as [N, K] (Gemm transB)";
      return nullptr;
    }
    stored_as_kn = StoredAsKn(node);
  }
  std::shared_ptr<const WeightGrid> grid = c.scheme->Grid(c.axis >= 0, stored_as_kn);
  if (grid == nullptr) *reason = std::string(c.scheme->Name()) + " has no grid";
  return grid;
}

std::vector<HessianInput> HessianInputsOfConstant(const Model& prepared, const PlannedConstant& c) {
  std::vector<HessianInput> inputs;
  std::string reason;
  if (GridOf(prepared, c, &reason) == nullptr) return inputs;
  for (const Use& use : c.uses) {
    HessianInput in;
    if (InputOfUse(prepared, c, use, &in, &reason) &&
        std::find_if(inputs.begin(), inputs.end(), [&](const HessianInput& i) {
          return !(i < in) && !(in < i);
        }) == inputs.end()) {
      inputs.push_back(in);
    }
  }
  return inputs;
}

std::vector<HessianInput> HessianInputsOf(const Model& prepared, const QuantPlan& plan) {
  std::vector<HessianInput> inputs;
  for (const PlannedConstant& c : plan.constants) {
    for (const HessianInput& in : HessianInputsOfConstant(prepared, c)) {
      if (std::find_if(inputs.begin(), inputs.end(), [&](const HessianInput& i) {
            return !(i < in) && !(in < i);
          }) == inputs.end()) {
        inputs.push_back(in);
      }
    }
  }
  return inputs;
}

Result<LayerHessians> CollectHessians(const Model& prepared, const QuantPlan& plan,
                                      const QuantizeOptions& options,
                                      const std::function<void(int64_t, int64_t)>& progress) {
  LayerHessians out;
  const std::vector<HessianInput> inputs = HessianInputsOf(prepared, plan);
  if (inputs.empty()) return out;
  Result<CalibrationRun> run = OpenCalibrationRun(prepared, options);
  if (!run.ok()) return run.status();
  HessianCollector collector(inputs, options.threads);
  Result<CalibrationPass> pass = ObserveCalibrationRun(
      run.value(), options, &collector,
      [&collector]() -> Status {
        // Every run produces every tensor: what the first did not is not there.
        return collector.Missing().empty() ? Status::OK() : collector.Results().status();
      },
      progress);
  if (!pass.ok()) return pass.status();
  Result<std::map<HessianInput, InputHessian>> sums = collector.Take();
  if (!sums.ok()) return sums.status();
  out.by_input = std::move(sums).value();
  out.files = pass->files;
  out.samples = pass->samples;
  out.batch = pass->batch;
  return out;
}

const InputHessian* HessianOf(const Model& prepared, const PlannedConstant& c, const LayerHessians& hessians,
                              InputHessian* storage, std::vector<std::string>* inputs, std::string* reason) {
  std::vector<const InputHessian*> found;
  for (const Use& use : c.uses) {
    HessianInput in;
    if (!InputOfUse(prepared, c, use, &in, reason)) return nullptr;
    auto it = hessians.by_input.find(in);
    if (it == hessians.by_input.end()) {
      *reason = "no X^T X was gathered for its input '" + in.tensor + "'";
      return nullptr;
    }
    found.push_back(&it->second);
    inputs->push_back(in.tensor);
  }
  if (found.empty()) {
    *reason = "it has no uses";
    return nullptr;
  }
  if (found.size() == 1) return found.front();
  *storage = InputHessian{};
  for (const InputHessian* h : found) storage->Merge(*h);
  return storage;
}

}  // namespace pq::quant
