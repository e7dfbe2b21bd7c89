#include "quant/prepare_stage.h"

#include "onnx/onnx_pb.h"
#include "quant/blocked_dq_writer.h"
#include "quant/equivalence_check.h"
#include "quant/opset_upgrade.h"
#include "quant/prepare.h"

namespace pq::quant {
namespace {

// Per-axis QuantizeLinear/DequantizeLinear need this default-domain opset;
// QuantizeLinear/DequantizeLinear exist from opset 10.
constexpr int64_t kPerAxisOpset = 13;
constexpr int64_t kMinQdqOpset = 10;

Status FoldOrCopy(const Model& model, bool fold, PreparedModel* prepared) {
  if (!fold) {
    Result<std::unique_ptr<Model>> copy = Model::FromProto(
        std::make_unique<onnx::ModelProto>(model.proto()), model.base_dir(), model.origin());
    if (!copy.ok()) return copy.status();
    prepared->model = std::move(copy).value();
    return Status::OK();
  }
  std::vector<FoldedBatchNorm> folded;
  Result<std::unique_ptr<Model>> f = FoldBatchNorms(model, &folded);
  if (!f.ok()) return f.status();
  prepared->model = std::move(f).value();
  for (const FoldedBatchNorm& fb : folded) {
    prepared->transformations.push_back("folded BatchNormalization '" + fb.batchnorm +
                                        "' into Conv '" + fb.conv + "'");
  }
  return Status::OK();
}

// Gives the model an opset that can hold per-axis parameters when asked
// (13), else one that has QuantizeLinear (10): onnx's converter, checked by
// running both models. When the conversion to 13 fails at an opset that
// already has QuantizeLinear, weights go per-tensor with a warning.
Status PrepareQdqOpset(bool want_per_channel, int threads, PreparedModel* prepared) {
  std::unique_ptr<Model>& model = prepared->model;
  const int64_t opset = model->OpsetVersion("");
  prepared->per_channel = want_per_channel;
  if (opset >= kPerAxisOpset || (!want_per_channel && opset >= kMinQdqOpset)) return Status::OK();
  const int64_t target = want_per_channel ? kPerAxisOpset : kMinQdqOpset;
  Result<std::unique_ptr<Model>> converted = ConvertOpset(*model, target);
  Status same = converted.ok() ? CheckSameOutputs(*model, *converted.value(), threads)
                               : converted.status();
  if (same.ok()) {
    prepared->transformations.push_back("converted the default-domain opset from " +
                                        std::to_string(opset) + " to " + std::to_string(target) +
                                        " (onnx version converter); outputs verified equal");
    model = std::move(converted).value();
    return Status::OK();
  }
  if (opset < kMinQdqOpset) {
    return Status::NotSupported(model->origin() + ": opset " + std::to_string(opset) +
                                " has no QuantizeLinear and conversion to opset " +
                                std::to_string(target) + " failed: " + same.message());
  }
  prepared->per_channel = false;
  prepared->warnings.push_back("per-channel weights need opset " + std::to_string(kPerAxisOpset) +
                               " and converting from opset " + std::to_string(opset) + " failed (" +
                               same.message() + "); weights are per-tensor");
  return Status::OK();
}

// Gives the model default-domain opset 21 (blocked DequantizeLinear with
// int4): onnx's converter up to 13 when lower, then pq's own upgrade; the
// FP32 outputs are checked when a node changed. Errors (kNotSupported) name
// what stood in the way and that --int4-format ort works at any opset.
Status PrepareBlockedDqOpset(int threads, PreparedModel* prepared) {
  std::unique_ptr<Model>& model = prepared->model;
  const int64_t opset = model->OpsetVersion("");
  if (opset >= kBlockedDqOpset) return Status::OK();
  auto refuse = [&](const Status& why) {
    return Status::NotSupported("--int4-format onnx needs default-domain opset " +
                                std::to_string(kBlockedDqOpset) + " and the model (opset " +
                                std::to_string(opset) + ") cannot be upgraded: " + why.message() +
                                "; --int4-format ort works at any opset");
  };
  const Model* base = model.get();
  std::unique_ptr<Model> converted;
  if (opset < kPerAxisOpset) {
    Result<std::unique_ptr<Model>> c = ConvertOpset(*model, kPerAxisOpset);
    if (!c.ok()) return refuse(c.status());
    converted = std::move(c).value();
    base = converted.get();
  }
  int rewritten = 0;
  Result<std::unique_ptr<Model>> upgraded = UpgradeOpset(*base, kBlockedDqOpset, &rewritten);
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
  prepared->transformations.push_back(
      "upgraded the default-domain opset from " + std::to_string(opset) + " to " +
      std::to_string(kBlockedDqOpset) +
      (converted ? " (onnx version converter to 13, then pq)" : " (pq)") +
      " for blocked DequantizeLinear; " + check);
  model = std::move(upgraded).value();
  return Status::OK();
}

}  // namespace

Result<PreparedModel> PrepareModel(const Model& model, const QuantizeOptions& options,
                                   const SchemeSet& schemes) {
  PreparedModel prepared;
  PQ_RETURN_IF_ERROR(FoldOrCopy(model, options.fold_batchnorm, &prepared));
  // The opset matters to DequantizeLinear (per-axis from 13) and to the
  // standard-ops decode (opset 10); fused com.microsoft forms need neither.
  if (schemes.WritesDequantizeLinear() || schemes.Writes(WeightEncoding::kCodebookDecode)) {
    const bool per_axis = options.per_channel && schemes.WritesDequantizeLinear();
    PQ_RETURN_IF_ERROR(PrepareQdqOpset(per_axis, options.threads, &prepared));
  }
  if (schemes.Writes(WeightEncoding::kBlockedDequantizeLinear)) {
    Status ready = PrepareBlockedDqOpset(options.threads, &prepared);
    if (!ready.ok()) return ready.WithPrefix(model.origin());
  }
  return prepared;
}

}  // namespace pq::quant
