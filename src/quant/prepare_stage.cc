#include "quant/prepare_stage.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/data_type.h"
#include "pq/dataset.h"
#include "quant/blocked_dq_writer.h"
#include "quant/calibrate_stage.h"
#include "quant/constant_writers.h"
#include "quant/embedding_tables.h"
#include "quant/equivalence_check.h"
#include "quant/float_type.h"
#include "quant/opset_upgrade.h"
#include "quant/prepare.h"

namespace pq::quant {
namespace {

// Per-axis QuantizeLinear/DequantizeLinear need this default-domain opset;
// QuantizeLinear/DequantizeLinear exist from opset 10.
constexpr int64_t kPerAxisOpset = 13;
constexpr int64_t kMinQdqOpset = 10;

// An opset upgrade rewrites nodes into their newer, same-meaning forms: both
// models' float outputs must agree within this relative L2 (integer outputs
// exactly).
constexpr double kUpgradeTolerance = 1e-6;
// How many calibration batches the upgrade check runs both models on.
constexpr int64_t kUpgradeCheckBatches = 2;

// What every checked upgrade of one Prepare needs: threads, and the check's
// inputs, read on first use (only a rewriting upgrade runs the models).
// `data_status` keeps a failure to read them, which is the user's data
// error, not the upgrade's.
struct UpgradeCheck {
  explicit UpgradeCheck(const QuantizeOptions& o) : options(o) {}
  const QuantizeOptions& options;
  bool read = false;
  std::vector<Feeds> feeds;
  Status data_status;
};

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

// Upgrades `prepared->model` to default-domain opset `target` with pq's
// upgrade and, when a node was rewritten, checks the outputs by running both
// models. A check that cannot run (a non-float input, an op the executor
// lacks) does not block the upgrade, whose rewrites are exact by
// construction; a warning says it was not verified. Records the
// transformation. Errors: the upgrade's (naming the node), kInvalidInput
// naming the rewritten nodes when the outputs differ.
Status UpgradeChecked(int64_t target, const std::string& purpose, UpgradeCheck* check,
                      PreparedModel* prepared) {
  const Model& model = *prepared->model;
  const int64_t opset = model.OpsetVersion("");
  std::vector<std::string> rewritten;
  Result<std::unique_ptr<Model>> upgraded = UpgradeOpset(model, target, &rewritten);
  if (!upgraded.ok()) return upgraded.status();
  std::string what = "upgraded the default-domain opset from " + std::to_string(opset) + " to " +
                     std::to_string(target) + " (pq)" + purpose + "; ";
  // Running both FP32 models costs time and memory in proportion to the
  // weights; it is needed only when a node changed. Otherwise the graph is
  // the same nodes under a newer opset whose meaning UpgradeOpset vouches for.
  if (rewritten.empty()) {
    what += "no node needed rewriting";
  } else {
    std::string nodes;
    for (const std::string& n : rewritten) nodes += (nodes.empty() ? "" : ", ") + n;
    if (!check->read) {
      Result<std::vector<Feeds>> feeds = FirstCalibrationBatches(model, check->options, kUpgradeCheckBatches);
      check->read = true;
      if (!feeds.ok()) {
        check->data_status = feeds.status();
        return feeds.status();
      }
      check->feeds = std::move(feeds).value();
    }
    Status same = CheckSameOutputs(model, *upgraded.value(), check->options.threads, kUpgradeTolerance,
                                   check->feeds);
    // The text of the verified case is what reports have always said.
    what += std::to_string(rewritten.size()) + " node(s) rewritten";
    if (same.ok()) {
      what += "; outputs verified equal";
    } else if (same.code() == Status::Code::kNotSupported) {
      what += " (" + nodes + "); outputs not verified";
      prepared->warnings.push_back("the opset upgrade from " + std::to_string(opset) + " to " +
                                   std::to_string(target) + " could not be verified by running "
                                   "both models (" + same.message() + ")");
    } else {
      return Status::InvalidInput("upgrading the default-domain opset from " +
                                  std::to_string(opset) + " to " + std::to_string(target) +
                                  " changed the outputs (" + same.message() +
                                  "); rewritten: " + nodes);
    }
  }
  prepared->transformations.push_back(what);
  prepared->model = std::move(upgraded).value();
  return Status::OK();
}

// Gives the model an opset that can hold per-axis parameters when asked
// (13), else one that has QuantizeLinear (10). When the upgrade to 13 meets
// a node pq cannot rewrite, weights go per-tensor with a warning (upgrading
// to 10 if needed); an upgrade that changed the outputs is an error.
Status PrepareQdqOpset(bool want_per_channel, UpgradeCheck* check, PreparedModel* prepared) {
  const int64_t opset = prepared->model->OpsetVersion("");
  prepared->per_channel = want_per_channel;
  if (opset >= kPerAxisOpset || (!want_per_channel && opset >= kMinQdqOpset)) return Status::OK();
  if (want_per_channel) {
    Status up = UpgradeChecked(kPerAxisOpset, "", check, prepared);
    if (up.ok()) return Status::OK();
    PQ_RETURN_IF_ERROR(check->data_status);
    // Only a node pq cannot rewrite falls back; changed outputs or a
    // malformed node are the model's error.
    if (up.code() != Status::Code::kNotSupported) return up.WithPrefix(prepared->model->origin());
    prepared->per_channel = false;
    prepared->warnings.push_back("per-channel weights need opset " +
                                 std::to_string(kPerAxisOpset) + " and upgrading from opset " +
                                 std::to_string(opset) + " failed (" + up.message() +
                                 "); weights are per-tensor");
    if (opset >= kMinQdqOpset) return Status::OK();
  }
  Status up = UpgradeChecked(kMinQdqOpset, "", check, prepared);
  PQ_RETURN_IF_ERROR(check->data_status);
  if (!up.ok()) {
    return Status::NotSupported(prepared->model->origin() + ": opset " + std::to_string(opset) +
                                " has no QuantizeLinear and the upgrade to opset " +
                                std::to_string(kMinQdqOpset) + " failed: " + up.message());
  }
  return Status::OK();
}

// Gives the model default-domain opset `target` (or keeps a newer one) with
// pq's checked upgrade; `purpose` (" for DynamicQuantizeLinear") goes into
// the upgrade's record. Errors (kNotSupported) read "<needs> and the model
// (opset N) cannot be upgraded: <why><hint>".
Status RequireOpset(int64_t target, const std::string& purpose, const std::string& needs,
                    const std::string& hint, UpgradeCheck* check, PreparedModel* prepared) {
  const int64_t opset = prepared->model->OpsetVersion("");
  if (opset >= target) return Status::OK();
  Status up = UpgradeChecked(target, purpose, check, prepared);
  if (up.ok()) return Status::OK();
  PQ_RETURN_IF_ERROR(check->data_status);
  return Status::NotSupported(needs + " and the model (opset " + std::to_string(opset) +
                              ") cannot be upgraded: " + up.message() + hint);
}

// Opset 21 for blocked DequantizeLinear with int4; the error says that
// --int4-format ort works at any opset.
Status PrepareBlockedDqOpset(UpgradeCheck* check, PreparedModel* prepared) {
  return RequireOpset(kBlockedDqOpset, " for blocked DequantizeLinear",
                      "--int4-format onnx needs default-domain opset " + std::to_string(kBlockedDqOpset),
                      "; --int4-format ort works at any opset", check, prepared);
}

// Opset 11 for DynamicQuantizeLinear, which int8-dynamic writes.
Status PrepareDynamicQuantizeOpset(UpgradeCheck* check, PreparedModel* prepared) {
  return RequireOpset(kDynamicQuantizeOpset, " for DynamicQuantizeLinear",
                      "int8-dynamic needs default-domain opset " +
                          std::to_string(kDynamicQuantizeOpset) + " (DynamicQuantizeLinear)",
                      "", check, prepared);
}

// What the embedding tables of `model` will be written as (SchemeSet::
// EmbeddingEncoding), as far as the graph tells before planning: whether one
// needs per-axis DequantizeLinear (int8 rows) or blocked DequantizeLinear.
void TableNeeds(const Model& model, const SchemeSet& schemes, bool* per_axis, bool* blocked) {
  if (schemes.embedding == nullptr) return;
  for (const EmbeddingTable& t : FindEmbeddingTables(model)) {
    const WeightEncoding e = schemes.EmbeddingEncoding(t.tied(), t.cols);
    *per_axis = *per_axis || e == WeightEncoding::kDequantizeLinear;
    *blocked = *blocked || e == WeightEncoding::kBlockedDequantizeLinear;
  }
}

}  // namespace

bool NeedsHalfQdqOpset(const Model& model, const QuantPlan& plan) {
  if (model.OpsetVersion("") >= kHalfQdqOpset) return false;
  for (const PlannedActivation& a : plan.activations) {
    if (a.float_type != kFloat && !a.uses.empty()) return true;
  }
  for (const PlannedConstant& c : plan.constants) {
    const ConstantTensor* t = model.FindConstant(c.tensor);
    const bool dq = c.role != TensorRole::kWeight || c.scheme == nullptr ||
                    c.encoding.value_or(c.scheme->Encoding()) == WeightEncoding::kDequantizeLinear;
    if (dq && t != nullptr && t->data_type != kFloat) return true;
  }
  return false;
}

Status PrepareHalfQdqOpset(const QuantizeOptions& options, PreparedModel* prepared) {
  UpgradeCheck check(options);
  return RequireOpset(kHalfQdqOpset, " for float16/bfloat16 QuantizeLinear/DequantizeLinear scales",
                      "float16/bfloat16 weights need default-domain opset " +
                          std::to_string(kHalfQdqOpset) +
                          " (DequantizeLinear with float16/bfloat16 scales)",
                      "", &check, prepared)
      .WithPrefix(prepared->model->origin());
}

Result<PreparedModel> PrepareModel(const Model& model, const QuantizeOptions& options,
                                   const SchemeSet& schemes) {
  PreparedModel prepared;
  UpgradeCheck check(options);
  PQ_RETURN_IF_ERROR(FoldOrCopy(model, options.fold_batchnorm, &prepared));
  // The opset matters to DequantizeLinear (per-axis from 13) and to the
  // standard-ops decode (opset 10); fused com.microsoft forms need neither.
  bool table_dq = false, table_blocked = false;
  TableNeeds(*prepared.model, schemes, &table_dq, &table_blocked);
  const bool decode = schemes.Writes(WeightEncoding::kCodebookDecode) ||
                      (schemes.embedding != nullptr && schemes.embedding->Encoding() == WeightEncoding::kCodebookDecode);
  if (schemes.WritesDequantizeLinear() || table_dq || decode) {
    const bool per_axis = options.per_channel && (schemes.WritesDequantizeLinear() || table_dq);
    PQ_RETURN_IF_ERROR(PrepareQdqOpset(per_axis, &check, &prepared));
  }
  if (schemes.Writes(WeightEncoding::kBlockedDequantizeLinear) || table_blocked) {
    Status ready = PrepareBlockedDqOpset(&check, &prepared);
    if (!ready.ok()) return ready.WithPrefix(model.origin());
  }
  if (schemes.Writes(WeightEncoding::kDynamicMatMul)) {
    Status ready = PrepareDynamicQuantizeOpset(&check, &prepared);
    if (!ready.ok()) return ready.WithPrefix(model.origin());
  }
  return prepared;
}

}  // namespace pq::quant
