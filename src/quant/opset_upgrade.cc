#include "quant/opset_upgrade.h"

#include <cstring>
#include <string>
#include <vector>

#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "quant/name_allocator.h"
#include "quant/proto_build.h"

namespace pq::quant {
namespace {

constexpr int64_t kMinUpgradeOpset = 13;
constexpr int64_t kAxesInputOpset = 18;
constexpr int64_t kMinIrVersion = 10;

// Reductions whose `axes` attribute became input 1 at opset 18 (ReduceSum
// changed at 13).
constexpr const char* kAxesToInput[] = {"ReduceMean",      "ReduceMax",      "ReduceMin",
                                        "ReduceProd",      "ReduceL1",       "ReduceL2",
                                        "ReduceLogSum",    "ReduceLogSumExp", "ReduceSumSquare"};

// An op whose meaning changed at `changed_at` (a node at an older opset
// computes something else under the new one).
struct MeaningChange {
  const char* op;
  int64_t changed_at;
  const char* what;
};
constexpr MeaningChange kMeaningChanges[] = {
    {"RoiAlign", 16, "coordinate_transformation_mode defaults to half_pixel from 16"},
    {"GridSample", 20, "modes were renamed and extended to N-D at 20"},
    {"DFT", 20, "axis moved from an attribute to an input at 20"},
    {"GroupNormalization", 21, "scale and bias are per channel, not per group, from 21"},
};

bool MovesAxesToInput(const std::string& op) {
  for (const char* name : kAxesToInput) {
    if (op == name) return true;
  }
  return false;
}

std::string NodeLabel(const onnx::NodeProto& node) {
  return "node '" + node.name() + "' (" + node.op_type() + ")";
}

// Rewrites `graph`'s nodes and those of its subgraphs; axes initializers go
// into `main` (visible to every subgraph).
Status UpgradeGraph(onnx::GraphProto* graph, int64_t from, int64_t target, onnx::GraphProto* main,
                    NameAllocator* names, int* rewritten) {
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    const bool default_domain = IsDefaultDomain(node.domain());
    for (onnx::AttributeProto& a : *node.mutable_attribute()) {
      if (a.has_g()) PQ_RETURN_IF_ERROR(UpgradeGraph(a.mutable_g(), from, target, main, names, rewritten));
      for (onnx::GraphProto& g : *a.mutable_graphs()) {
        PQ_RETURN_IF_ERROR(UpgradeGraph(&g, from, target, main, names, rewritten));
      }
    }
    if (!default_domain) continue;
    for (const MeaningChange& change : kMeaningChanges) {
      if (node.op_type() == change.op && from < change.changed_at && target >= change.changed_at) {
        return Status::NotSupported(NodeLabel(node) + " cannot move from opset " +
                                    std::to_string(from) + " to " + std::to_string(target) + ": " +
                                    change.what);
      }
    }
    if (!MovesAxesToInput(node.op_type()) || from >= kAxesInputOpset || target < kAxesInputOpset) {
      continue;
    }
    auto* attrs = node.mutable_attribute();
    for (int i = 0; i < attrs->size(); ++i) {
      if (attrs->Get(i).name() != "axes") continue;
      const std::vector<int64_t> axes(attrs->Get(i).ints().begin(), attrs->Get(i).ints().end());
      attrs->DeleteSubrange(i, 1);
      std::string raw(axes.size() * sizeof(int64_t), '\0');
      if (!axes.empty()) std::memcpy(raw.data(), axes.data(), raw.size());
      const std::string name =
          names->Make((node.name().empty() ? node.op_type() : node.name()) + "_axes");
      *main->add_initializer() = Initializer(name, onnx::TensorProto::INT64,
                                             {static_cast<int64_t>(axes.size())}, std::move(raw));
      if (node.input_size() < 1) return Status::InvalidInput(NodeLabel(node) + " has no input");
      node.add_input(name);
      ++*rewritten;
      break;
    }
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Model>> UpgradeOpset(const Model& model, int64_t target, int* rewritten_nodes) {
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
  int rewritten = 0;
  Status upgraded =
      UpgradeGraph(proto->mutable_graph(), from, target, proto->mutable_graph(), &names, &rewritten);
  if (rewritten_nodes != nullptr) *rewritten_nodes = rewritten;
  if (!upgraded.ok()) return upgraded;
  for (onnx::OperatorSetIdProto& o : *proto->mutable_opset_import()) {
    if (IsDefaultDomain(o.domain())) o.set_version(target);
  }
  if (proto->ir_version() < kMinIrVersion) proto->set_ir_version(kMinIrVersion);
  return Model::FromProto(std::move(proto), model.base_dir(), model.origin());
}

}  // namespace pq::quant
