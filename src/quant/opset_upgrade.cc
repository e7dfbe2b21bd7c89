#include "quant/opset_upgrade.h"

#include <string>
#include <vector>

#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "quant/name_allocator.h"
#include "quant/opset_upgrade_rules.h"

namespace pq::quant {
namespace {

using upgrade::NodeEdit;
using upgrade::NodeLabel;
using upgrade::UpgradeContext;
using upgrade::UpgradeRule;

// The lowest IR version that can hold each default-domain opset (index:
// opset; ONNX's release table).
int64_t MinIrVersion(int64_t opset) {
  if (opset <= 8) return 3;
  if (opset <= 9) return 4;
  if (opset <= 10) return 5;
  if (opset <= 11) return 6;
  if (opset <= 14) return 7;
  if (opset <= 18) return 8;
  if (opset <= 20) return 9;
  return 10;
}

// An op whose meaning changed at `changed_at` in a way pq does not rewrite
// (a node at an older opset computes something else under the new one).
struct MeaningChange {
  const char* op;
  int64_t changed_at;
  const char* what;
};
constexpr MeaningChange kMeaningChanges[] = {
    {"Scan", 9, "the batch axis of its inputs was removed at 9"},
    {"RoiAlign", 16, "coordinate_transformation_mode defaults to half_pixel from 16"},
    {"GridSample", 20, "modes were renamed and extended to N-D at 20"},
    {"DFT", 20, "axis moved from an attribute to an input at 20"},
    {"GroupNormalization", 21, "scale and bias are per channel, not per group, from 21"},
};

// Attributes that no default-domain op has had since opset 7, which old
// exporters still write: dropped.
bool IsLegacyAttribute(const onnx::NodeProto& node, const std::string& attr) {
  if (attr == "consumed_inputs") return true;
  return attr == "is_test" &&
         (node.op_type() == "BatchNormalization" || node.op_type() == "Dropout");
}

void DropLegacyAttributes(onnx::NodeProto* node, NodeEdit* edit) {
  auto* attrs = node->mutable_attribute();
  for (int i = attrs->size() - 1; i >= 0; --i) {
    if (!IsLegacyAttribute(*node, attrs->Get(i).name())) continue;
    attrs->DeleteSubrange(i, 1);
    edit->changed = true;
  }
}

// Reserves the names used inside `graph`'s subgraphs (the allocator knows the
// main graph's).
void ReserveSubgraphNames(const onnx::GraphProto& graph, bool is_subgraph, NameAllocator* names) {
  if (is_subgraph) {
    for (const auto& v : graph.input()) names->Make(v.name());
    for (const auto& v : graph.initializer()) names->Make(v.name());
  }
  for (const onnx::NodeProto& node : graph.node()) {
    if (is_subgraph) {
      names->Make(node.name());
      for (const auto& o : node.output()) names->Make(o);
    }
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.has_g()) ReserveSubgraphNames(a.g(), true, names);
      for (const onnx::GraphProto& g : a.graphs()) ReserveSubgraphNames(g, true, names);
    }
  }
}

// Rewrites `graph`'s nodes and those of its subgraphs, keeping them in
// topological order; `rewritten` receives each rewritten node's label.
Status UpgradeGraph(onnx::GraphProto* graph, UpgradeContext& ctx,
                    std::vector<std::string>* rewritten) {
  ctx.Declare(*graph);
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    for (onnx::AttributeProto& a : *node.mutable_attribute()) {
      if (a.has_g()) PQ_RETURN_IF_ERROR(UpgradeGraph(a.mutable_g(), ctx, rewritten));
      for (onnx::GraphProto& g : *a.mutable_graphs()) {
        PQ_RETURN_IF_ERROR(UpgradeGraph(&g, ctx, rewritten));
      }
    }
    NodeEdit edit;
    if (IsDefaultDomain(node.domain())) {
      const std::string label = NodeLabel(node);
      for (const MeaningChange& change : kMeaningChanges) {
        if (node.op_type() == change.op && ctx.from() < change.changed_at &&
            ctx.target() >= change.changed_at) {
          return Status::NotSupported(label + " cannot move from opset " +
                                      std::to_string(ctx.from()) + " to " +
                                      std::to_string(ctx.target()) + ": " + change.what);
        }
      }
      DropLegacyAttributes(&node, &edit);
      for (const UpgradeRule& rule : upgrade::UpgradeRules()) {
        if (node.op_type() == rule.op && ctx.from() < rule.changed_at &&
            ctx.target() >= rule.changed_at) {
          PQ_RETURN_IF_ERROR(rule.rewrite(&node, ctx, &edit));
        }
      }
      if (edit.changed) rewritten->push_back(label);
    }
    for (onnx::NodeProto& n : edit.before) *nodes.Add() = std::move(n);
    *nodes.Add() = std::move(node);
    for (onnx::NodeProto& n : edit.after) *nodes.Add() = std::move(n);
  }
  graph->mutable_node()->Swap(&nodes);
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Model>> UpgradeOpset(const Model& model, int64_t target,
                                            std::vector<std::string>* rewritten_nodes) {
  const int64_t from = model.OpsetVersion("");
  if (from < kMinUpgradeOpset || target < from || target > kMaxUpgradeOpset) {
    return Status::NotSupported("pq upgrades the default-domain opset from " +
                                std::to_string(kMinUpgradeOpset) + ".." +
                                std::to_string(kMaxUpgradeOpset) + " up to " +
                                std::to_string(kMaxUpgradeOpset) + ", not from " +
                                std::to_string(from) + " to " + std::to_string(target));
  }
  auto proto = std::make_unique<onnx::ModelProto>(model.proto());
  NameAllocator names(proto->graph());
  ReserveSubgraphNames(proto->graph(), false, &names);
  UpgradeContext ctx(from, target, model, proto->mutable_graph(), &names);
  std::vector<std::string> rewritten;
  Status upgraded = UpgradeGraph(proto->mutable_graph(), ctx, &rewritten);
  if (rewritten_nodes != nullptr) *rewritten_nodes = rewritten;
  if (!upgraded.ok()) return upgraded;
  for (onnx::OperatorSetIdProto& o : *proto->mutable_opset_import()) {
    if (IsDefaultDomain(o.domain())) o.set_version(target);
  }
  if (proto->ir_version() < MinIrVersion(target)) proto->set_ir_version(MinIrVersion(target));
  return Model::FromProto(std::move(proto), model.base_dir(), model.origin());
}

}  // namespace pq::quant
