#include "quant/body_stage.h"

#include <map>
#include <set>
#include <utility>

#include "base/body_path.h"
#include "base/onnx_domain.h"
#include "onnx/onnx_pb.h"
#include "quant/decide.h"
#include "quant/plan.h"
#include "quant/prepare_stage.h"
#include "quant/weight_rounding.h"
#include "quant/write_stage.h"

namespace pq::quant {
namespace {

// Constants visible in a scope: name -> the tensor (an initializer, or a
// Constant node's `value`) of the innermost graph that defines it.
using ScopeConstants = std::map<std::string, const onnx::TensorProto*>;

// Adds `graph`'s initializers and Constant-node values to `scope`.
void AddConstants(const onnx::GraphProto& graph, ScopeConstants* scope) {
  for (const auto& init : graph.initializer()) (*scope)[init.name()] = &init;
  for (const auto& node : graph.node()) {
    if (node.op_type() != "Constant" || !IsDefaultDomain(node.domain()) || node.output_size() != 1) continue;
    for (const auto& attr : node.attribute()) {
      if (attr.name() == "value" && attr.has_t()) (*scope)[node.output(0)] = &attr.t();
    }
  }
}

// The names `graph` (its nested bodies included) reads but does not define:
// what it takes from the scopes around it.
std::set<std::string> FreeNames(const onnx::GraphProto& graph) {
  std::set<std::string> defined, reads;
  for (const auto& v : graph.input()) defined.insert(v.name());
  for (const auto& v : graph.initializer()) defined.insert(v.name());
  for (const auto& node : graph.node()) {
    for (const auto& in : node.input()) reads.insert(in);
    for (const auto& attr : node.attribute()) {
      if (!attr.has_g()) continue;
      const std::set<std::string> inner = FreeNames(attr.g());
      reads.insert(inner.begin(), inner.end());
    }
    defined.insert(node.output().begin(), node.output().end());
  }
  for (const auto& v : graph.output()) reads.insert(v.name());
  std::set<std::string> free;
  for (const std::string& name : reads) {
    if (!name.empty() && defined.count(name) == 0) free.insert(name);
  }
  return free;
}

// Every value and node name of `graph` and its nested bodies.
void CollectNames(const onnx::GraphProto& graph, std::set<std::string>* names) {
  for (const auto& v : graph.input()) names->insert(v.name());
  for (const auto& v : graph.output()) names->insert(v.name());
  for (const auto& v : graph.initializer()) names->insert(v.name());
  for (const auto& node : graph.node()) {
    names->insert(node.name());
    names->insert(node.input().begin(), node.input().end());
    names->insert(node.output().begin(), node.output().end());
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) CollectNames(attr.g(), names);
    }
  }
}

// Whether `graph`'s own nodes include an op a weight scheme can take.
bool HasWeightOp(const onnx::GraphProto& graph) {
  static const std::set<std::string> kOps = {"Conv", "ConvTranspose", "MatMul", "Gemm", "Gather"};
  for (const auto& node : graph.node()) {
    if (IsDefaultDomain(node.domain()) && kOps.count(node.op_type()) != 0) return true;
  }
  return false;
}

// Names read by `graph`'s nodes, nested bodies included, and its outputs.
void CollectReads(const onnx::GraphProto& graph, std::set<std::string>* reads) {
  for (const auto& node : graph.node()) {
    reads->insert(node.input().begin(), node.input().end());
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) CollectReads(attr.g(), reads);
    }
  }
  for (const auto& v : graph.output()) reads->insert(v.name());
}

// Drops, in `graph` and its nested bodies, the initializers and Constant
// nodes named in `names` that nothing in their scope reads any more.
void DropUnreadCopies(onnx::GraphProto* graph, const std::set<std::string>& names) {
  for (auto& node : *graph->mutable_node()) {
    for (auto& attr : *node.mutable_attribute()) {
      if (attr.has_g()) DropUnreadCopies(attr.mutable_g(), names);
    }
  }
  std::set<std::string> reads;
  CollectReads(*graph, &reads);
  auto unread = [&](const std::string& name) { return names.count(name) != 0 && reads.count(name) == 0; };
  auto* inits = graph->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    if (unread(inits->Get(i).name())) inits->DeleteSubrange(i, 1);
  }
  auto* nodes = graph->mutable_node();
  for (int i = nodes->size() - 1; i >= 0; --i) {
    const onnx::NodeProto& n = nodes->Get(i);
    if (n.op_type() == "Constant" && n.output_size() == 1 && unread(n.output(0))) nodes->DeleteSubrange(i, 1);
  }
}

// A body lifted into a model of its own.
struct LiftedBody {
  std::unique_ptr<onnx::ModelProto> proto;
  std::set<std::string> captured;  // outer-scope constants copied in as initializers
};

// Builds the model holding `body`: the main model's versions, the body's
// nodes, inputs, outputs and initializers, the outer-scope constants it
// reads as initializers, and its other outer-scope reads as inputs.
// `reserved` names are listed as value_info so that the writers' names
// stay unique across the whole model (the writers reserve a graph's names).
LiftedBody Lift(const onnx::ModelProto& main, const onnx::GraphProto& body, const ScopeConstants& scope,
                const std::set<std::string>& reserved) {
  LiftedBody lifted;
  lifted.proto = std::make_unique<onnx::ModelProto>();
  onnx::ModelProto& m = *lifted.proto;
  m.set_ir_version(main.ir_version());
  *m.mutable_opset_import() = main.opset_import();
  onnx::GraphProto* g = m.mutable_graph();
  *g = body;
  g->clear_value_info();
  for (const std::string& name : FreeNames(body)) {
    auto c = scope.find(name);
    if (c != scope.end()) {
      onnx::TensorProto* t = g->add_initializer();
      *t = *c->second;
      t->set_name(name);
      lifted.captured.insert(name);
    } else {
      g->add_input()->set_name(name);
    }
  }
  std::set<std::string> own;
  CollectNames(*g, &own);
  for (const std::string& name : reserved) {
    if (own.count(name) == 0) g->add_value_info()->set_name(name);
  }
  return lifted;
}

class BodyQuantizer {
 public:
  BodyQuantizer(const Model& model, const QuantizeOptions& options, bool static_mode, bool per_channel,
                const SchemeSet& schemes, const BodyRanges* ranges)
      : model_(model), options_(options), static_mode_(static_mode), per_channel_(per_channel),
        schemes_(schemes), ranges_(ranges), rounding_(MakeRoundToNearest()),
        proto_(std::make_unique<onnx::ModelProto>(model.proto())) {
    CollectNames(proto_->graph(), &reserved_);
  }

  // Quantizes every body of the model, innermost first.
  Result<BodyOutcome> Run() {
    PQ_RETURN_IF_ERROR(Walk(proto_->mutable_graph(), "", ScopeConstants()));
    if (outcome_.needs_half_qdq_opset || outcome_.tensors.empty()) {
      outcome_.tensors.clear();
      return std::move(outcome_);
    }
    DropUnreadCopies(proto_->mutable_graph(), copied_);
    if (options_.weight_algo != "rtn") {
      outcome_.warnings.push_back("--weight-algo " + options_.weight_algo + " needs calibration data, which pq does not "
                                  "observe inside If/Loop/Scan bodies: the " + std::to_string(outcome_.tensors.size()) +
                                  " body weights were rounded to nearest");
    }
    Result<std::unique_ptr<Model>> model = Model::FromProto(std::move(proto_), model_.base_dir(), model_.origin());
    if (!model.ok()) return model.status().WithPrefix("the model with quantized bodies is invalid");
    outcome_.model = std::move(model).value();
    return std::move(outcome_);
  }

 private:
  // Quantizes the bodies of `graph`'s nodes (`path` names `graph`, "" for
  // the main graph; `outer` holds the constants of the scopes around it).
  Status Walk(onnx::GraphProto* graph, const std::string& path, const ScopeConstants& outer) {
    ScopeConstants scope = outer;
    AddConstants(*graph, &scope);
    for (int i = 0; i < graph->node_size(); ++i) {
      onnx::NodeProto* node = graph->mutable_node(i);
      for (auto& attr : *node->mutable_attribute()) {
        if (!attr.has_g() || outcome_.needs_half_qdq_opset) continue;
        const std::string body_path = BodyPath(path, *node, i, attr.name());
        PQ_RETURN_IF_ERROR(Walk(attr.mutable_g(), body_path, scope));
        PQ_RETURN_IF_ERROR(Rewrite(attr.mutable_g(), body_path, scope));
      }
    }
    return Status::OK();
  }

  // In a static scheme, the plan of `sub` (the lifted body `path`) with its
  // activations when ranges_ covers them all: `stats` then receives them by
  // the body's own names. Otherwise the weights-only plan, and `uncalibrated`
  // says why the activations stay float. Adds the calibration names of the
  // static plan's activations to outcome_.calibrate: each scoped by the
  // body, outer-scope values too, so that their ranges are those of the runs
  // that take the body.
  QuantPlan ChoosePlan(const Model& sub, const std::string& path, ActivationStats* stats,
                       std::string* uncalibrated) {
    if (static_mode_) {
      QuantPlan with_activations = BuildPlan(sub, options_, /*static_mode=*/true, per_channel_, schemes_);
      std::map<std::string, CalibratedRange> own;  // by the body's own names
      for (const std::string& name : with_activations.calibrate) {
        const std::string key = ScopedValueName(path, name);
        outcome_.calibrate.insert(key);
        if (const CalibratedRange* range = FindRange(key)) own.emplace(name, *range);
      }
      if (own.size() == with_activations.calibrate.size()) {
        if (ranges_ != nullptr) *stats = ranges_->source;
        stats->ranges = std::move(own);
        return with_activations;
      }
      *uncalibrated = ranges_ == nullptr ? "values inside bodies are calibrated from --calib data or "
                                           "--calib-stats statistics only, and this run has neither"
                                         : ranges_->missing_reason;
    }
    return BuildPlan(sub, options_, /*static_mode=*/false, per_channel_, schemes_);
  }

  // The range calibrated for `key`; null when there is none.
  const CalibratedRange* FindRange(const std::string& key) const {
    if (ranges_ == nullptr) return nullptr;
    auto it = ranges_->ranges.find(key);
    return it == ranges_->ranges.end() ? nullptr : &it->second;
  }

  // Plans, decides and writes the weights of `body`'s own nodes, and puts
  // the written nodes and initializers back into `body`.
  Status Rewrite(onnx::GraphProto* body, const std::string& path, const ScopeConstants& scope) {
    if (!HasWeightOp(*body) || outcome_.needs_half_qdq_opset) return Status::OK();
    LiftedBody lifted = Lift(*proto_, *body, scope, reserved_);
    const std::string origin = model_.origin() + " " + path;
    Result<std::unique_ptr<Model>> lifted_model = Model::FromProto(std::move(lifted.proto), model_.base_dir(), origin);
    if (!lifted_model.ok()) return lifted_model.status();
    const Model& sub = *lifted_model.value();
    ActivationStats stats;
    std::string uncalibrated;
    const QuantPlan plan = ChoosePlan(sub, path, &stats, &uncalibrated);
    if (NeedsHalfQdqOpset(sub, plan)) {
      outcome_.needs_half_qdq_opset = true;
      return Status::OK();
    }
    RecordSkipped(sub, plan, path, uncalibrated);
    if (plan.constants.empty()) return Status::OK();
    Result<Decisions> decisions = Decide(sub, plan, stats, {}, schemes_, *rounding_, options_, origin);
    if (!decisions.ok()) return decisions.status();
    std::vector<QuantizedTensorRecord> records;
    Result<std::unique_ptr<Model>> written = WriteDecisions(sub, std::move(decisions).value(), origin, &records);
    if (!written.ok()) return written.status().WithPrefix(path);
    Splice(written.value()->proto(), lifted.captured, body);
    for (QuantizedTensorRecord& r : records) {
      r.graph = path;
      for (ConsumerRef& c : r.consumers) c.node = path + "/" + c.node;
      if (lifted.captured.count(r.name) != 0) copied_.insert(r.name);
      outcome_.tensors.push_back(std::move(r));
    }
    outcome_.nodes_quantized += static_cast<int64_t>(plan.nodes.size()) + plan.table_gathers;
    CollectNames(*body, &reserved_);
    return Status::OK();
  }

  // The planner's skipped records of a body, named by path; when
  // `uncalibrated` says why a static scheme left the body's activations
  // float, also the data input of each node whose weight is quantized.
  void RecordSkipped(const Model& sub, const QuantPlan& plan, const std::string& path,
                     const std::string& uncalibrated) {
    for (SkippedRecord s : plan.skipped) {
      s.node = path + "/" + s.node;
      s.reason = "inside the '" + path + "' body: " + s.reason;
      outcome_.skipped.push_back(std::move(s));
    }
    if (uncalibrated.empty()) return;
    const onnx::GraphProto& graph = sub.proto().graph();
    for (int i : plan.nodes) {
      const onnx::NodeProto& node = graph.node(i);
      const std::string name = node.name().empty() ? "#" + std::to_string(i) : node.name();
      outcome_.skipped.push_back(
          {path + "/" + name, node.op_type(), node.input(0),
           "activation inside the '" + path + "' body: not calibrated (" + uncalibrated +
               "); its weight is quantized, this input left float"});
    }
  }

  // Puts the written body back: its nodes, and its initializers except the
  // outer-scope copies nothing rewrote (the outer scope still holds them).
  // Opset imports the writers added (com.microsoft) join the main model's.
  void Splice(const onnx::ModelProto& written, const std::set<std::string>& captured, onnx::GraphProto* body) {
    const onnx::GraphProto& g = written.graph();
    *body->mutable_node() = g.node();
    body->clear_initializer();
    for (const auto& init : g.initializer()) {
      if (captured.count(init.name()) == 0) *body->add_initializer() = init;
    }
    for (const auto& opset : written.opset_import()) {
      bool present = false;
      for (const auto& have : proto_->opset_import()) present = present || have.domain() == opset.domain();
      if (!present) *proto_->add_opset_import() = opset;
    }
  }

  const Model& model_;
  const QuantizeOptions& options_;
  const bool static_mode_;
  const bool per_channel_;
  const SchemeSet& schemes_;
  const BodyRanges* const ranges_;  // may be null
  const std::unique_ptr<WeightRounding> rounding_;
  std::unique_ptr<onnx::ModelProto> proto_;
  std::set<std::string> reserved_;  // every name the model uses so far
  std::set<std::string> copied_;    // outer-scope weights a body quantized a copy of
  BodyOutcome outcome_;
};

}  // namespace

Result<BodyOutcome> QuantizeBodies(const Model& model, const QuantizeOptions& options, bool static_mode,
                                   bool per_channel, const SchemeSet& schemes, const BodyRanges* ranges) {
  return BodyQuantizer(model, options, static_mode, per_channel, schemes, ranges).Run();
}

}  // namespace pq::quant
