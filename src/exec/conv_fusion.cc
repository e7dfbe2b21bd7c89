// Plan-time fusion of Conv -> [BatchNormalization] -> [Relu] chains (see
// FuseConvEpilogues in plan.h). The BatchNormalization folds into the Conv's
// weight and bias by FoldBatchNormIntoConv (base/batchnorm_fold.h), the same
// arithmetic as the quantizer's FoldBatchNorms.
#include <algorithm>
#include <cstring>
#include <set>

#include "base/batchnorm_fold.h"
#include "base/onnx_domain.h"
#include "exec/plan.h"
#include "exec/value_types.h"

namespace pq::exec {
namespace {

bool IsDefaultOp(const PlanStep& step, const char* op_type) {
  return step.node->op_type() == op_type && IsDefaultDomain(step.node->domain());
}

const onnx::AttributeProto* FindAttr(const onnx::NodeProto& node, const char* name) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return &attr;
  }
  return nullptr;
}

// The one output of `step` that is used, or -1 when it has other used
// outputs.
int SoleOutput(const PlanStep& step) {
  for (size_t o = 1; o < step.outputs.size(); ++o) {
    if (step.outputs[o] >= 0) return -1;
  }
  return step.outputs.empty() ? -1 : step.outputs[0];
}

// A constant float tensor of `n` values at value id `id`, or nullptr.
const Tensor* ConstantVector(const PlanValues& values, int id, int64_t n) {
  if (id < 0) return nullptr;
  const Tensor& t = values.constants[static_cast<size_t>(id)];
  return t.defined() && t.dtype() == kFloat && t.size() == n ? &t : nullptr;
}

// Folds the BatchNormalization `bn` into `conv` (both steps of the plan):
// on success adds W' and B' to `values`, points conv's inputs 1 and 2 at
// them and returns true.
bool FoldBatchNorm(const PlanStep& bn, PlanStep* conv, PlanValues* values) {
  if (bn.inputs.size() != 5 || SoleOutput(bn) < 0) return false;
  const onnx::AttributeProto* training = FindAttr(*bn.node, "training_mode");
  const onnx::AttributeProto* spatial = FindAttr(*bn.node, "spatial");
  if ((training != nullptr && training->i() != 0) || (spatial != nullptr && spatial->i() != 1)) {
    return false;
  }
  const int w_id = conv->inputs.size() > 1 ? conv->inputs[1] : -1;
  if (w_id < 0) return false;
  const Tensor& w = values->constants[static_cast<size_t>(w_id)];
  if (!w.defined() || w.dtype() != kFloat || w.rank() < 3) return false;
  const int64_t channels = w.dim(0);
  const Tensor* conv_bias =
      conv->inputs.size() > 2 && conv->inputs[2] >= 0
          ? ConstantVector(*values, conv->inputs[2], channels) : nullptr;
  if (conv->inputs.size() > 2 && conv->inputs[2] >= 0 && conv_bias == nullptr) return false;
  const Tensor* params[4];
  for (int i = 0; i < 4; ++i) {
    params[i] = ConstantVector(*values, bn.inputs[static_cast<size_t>(i + 1)], channels);
    if (params[i] == nullptr) return false;
  }
  const onnx::AttributeProto* eps_attr = FindAttr(*bn.node, "epsilon");
  const float epsilon = eps_attr != nullptr ? eps_attr->f() : 1e-5f;
  Tensor folded_w = Tensor::AllocateUninitialized(kFloat, w.shape()).value();
  Tensor folded_b = Tensor::Allocate(kFloat, {channels}).value();  // zeros: no Conv bias
  std::memcpy(folded_w.data<float>(), w.data<float>(), static_cast<size_t>(w.size()) * sizeof(float));
  if (conv_bias != nullptr) {
    std::memcpy(folded_b.data<float>(), conv_bias->data<float>(),
                static_cast<size_t>(channels) * sizeof(float));
  }
  const int64_t per_channel = w.size() / std::max<int64_t>(1, channels);
  FoldBatchNormIntoConv({params[0]->data<float>(), params[1]->data<float>(),
                         params[2]->data<float>(), params[3]->data<float>(), epsilon},
                        channels, per_channel, folded_w.data<float>(), folded_b.data<float>());
  const std::string& bn_out = values->names[static_cast<size_t>(bn.outputs[0])];
  const int w_folded = values->Id(bn_out + "#folded_conv_weights");
  const int b_folded = values->Id(bn_out + "#folded_conv_bias");
  values->constants[static_cast<size_t>(w_folded)] = std::move(folded_w);
  values->constants[static_cast<size_t>(b_folded)] = std::move(folded_b);
  conv->inputs.resize(3);
  conv->inputs[1] = w_folded;
  conv->inputs[2] = b_folded;
  conv->outputs = {bn.outputs[0]};
  return true;
}

}  // namespace

std::vector<PlanStep> FuseConvEpilogues(const std::vector<PlanStep>& steps,
                                        const std::vector<int>& keep, PlanValues* values) {
  // For each value: how many inputs read it, and the last step that does.
  std::vector<int> uses(values->names.size(), 0), consumer(values->names.size(), -1);
  for (size_t s = 0; s < steps.size(); ++s) {
    for (const std::vector<int>* ids : {&steps[s].inputs, &steps[s].captures}) {
      for (int id : *ids) {  // a body's capture is a use: its value is not fused away
        if (id < 0) continue;
        ++uses[static_cast<size_t>(id)];
        consumer[static_cast<size_t>(id)] = static_cast<int>(s);
      }
    }
  }
  const std::set<int> kept(keep.begin(), keep.end());
  // The step that alone reads `id`, a fusable intermediate, or -1.
  auto sole_consumer = [&](int id) {
    if (id < 0 || uses[static_cast<size_t>(id)] != 1 || kept.count(id) != 0) return -1;
    return consumer[static_cast<size_t>(id)];
  };
  std::vector<bool> fused_away(steps.size(), false);
  std::vector<PlanStep> out;
  for (size_t s = 0; s < steps.size(); ++s) {
    if (fused_away[s]) continue;
    PlanStep step = steps[s];
    if (IsDefaultOp(step, "Conv") && SoleOutput(step) >= 0 &&
        RoundingFor(values->types[static_cast<size_t>(step.outputs[0])]) == OutputRounding::kNone) {
      const int bn = sole_consumer(step.outputs[0]);
      if (bn >= 0 && IsDefaultOp(steps[static_cast<size_t>(bn)], "BatchNormalization") &&
          steps[static_cast<size_t>(bn)].inputs[0] == step.outputs[0] &&
          FoldBatchNorm(steps[static_cast<size_t>(bn)], &step, values)) {
        fused_away[static_cast<size_t>(bn)] = true;
      }
      const int relu = sole_consumer(step.outputs[0]);
      if (relu >= 0 && IsDefaultOp(steps[static_cast<size_t>(relu)], "Relu") &&
          SoleOutput(steps[static_cast<size_t>(relu)]) >= 0) {
        step.outputs = {steps[static_cast<size_t>(relu)].outputs[0]};
        step.fused_relu = true;
        fused_away[static_cast<size_t>(relu)] = true;
      }
    }
    out.push_back(std::move(step));
  }
  return out;
}

}  // namespace pq::exec
