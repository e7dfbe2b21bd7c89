#include "exec/graph_plan.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "base/onnx_domain.h"
#include "exec/float16_placement.h"
#include "exec/kernel.h"
#include "exec/legacy_opset.h"
#include "exec/value_types.h"
#include "onnx/defs/schema.h"
#include "pq/tensor_proto_io.h"

namespace pq::exec {
namespace {

// Kernels read their required inputs and write their first output without
// checking that the node lists them; refuse nodes that do not (or that list
// more outputs than the op has), using the op's
// schema (for opsets newer than the onnx library knows, its newest version of
// the op: no later version made a required input optional). Ops it does not
// know at all are left to their kernels.
Status CheckArity(const onnx::NodeProto& node, int64_t opset, const std::string& where) {
  if (!IsDefaultDomain(node.domain())) return Status::OK();
  const onnx::OpSchema* schema =
      onnx::OpSchemaRegistry::Schema(node.op_type(), static_cast<int>(opset), "");
  if (schema == nullptr) return Status::OK();
  const auto& formal = schema->inputs();
  for (size_t i = 0; i < formal.size(); ++i) {
    if (formal[i].GetOption() != onnx::OpSchema::Single) continue;
    if (static_cast<int>(i) >= node.input_size() || node.input(static_cast<int>(i)).empty()) {
      return Status::InvalidInput(where + ": required input " + std::to_string(i) + " ('" +
                                  formal[i].GetName() + "') is missing");
    }
  }
  if (node.input_size() < schema->min_input()) {
    return Status::InvalidInput(where + ": has " + std::to_string(node.input_size()) +
                                " inputs, at least " + std::to_string(schema->min_input()) +
                                " needed");
  }
  // Kernels set only the outputs their op has: a node listing more would
  // leave the extra ones undefined.
  if (node.output_size() > schema->max_output()) {
    return Status::InvalidInput(where + ": has " + std::to_string(node.output_size()) +
                                " outputs, the op has at most " +
                                std::to_string(schema->max_output()));
  }
  if (node.output_size() < std::max(schema->min_output(), 1)) {
    return Status::InvalidInput(where + ": has " + std::to_string(node.output_size()) +
                                " outputs, at least " +
                                std::to_string(std::max(schema->min_output(), 1)) + " needed");
  }
  return Status::OK();
}

// Collects into `unsupported` every domain:op-opset of `graph` and its
// bodies without a kernel, and into `first` the first such node.
Status CollectUnsupported(const Model& model, const onnx::GraphProto& graph, bool main_graph,
                          std::set<std::string>* unsupported, std::string* first) {
  for (const auto& node : graph.node()) {
    if (main_graph && IsHeldConstant(model, node)) continue;
    const int64_t opset = model.OpsetVersion(node.domain());
    Status legacy = CheckLegacyOpset(node, opset);
    if (!legacy.ok()) return Status::NotSupported(model.origin() + ": " + legacy.message());
    if (FindKernel(node.domain(), node.op_type(), opset) == nullptr) {
      const std::string domain = DomainName(node.domain());
      unsupported->insert(domain + ":" + node.op_type() + "-" + std::to_string(opset));
      if (first->empty()) {
        *first = DescribeNode(node) + " of domain " + domain + " at opset " + std::to_string(opset);
      }
    }
    for (const auto& attr : node.attribute()) {
      if (attr.has_g()) {
        PQ_RETURN_IF_ERROR(CollectUnsupported(model, attr.g(), false, unsupported, first));
      }
    }
  }
  return Status::OK();
}

// Reads the initializers of body `graph` into `values`; strings and types
// the executor does not hold stay unread, as the main graph's do.
Status LoadBodyInitializers(const onnx::GraphProto& graph, const std::string& where,
                            PlanValues* values) {
  if (graph.sparse_initializer_size() > 0) {
    return Status::NotSupported(where + ": sparse initializers in a body are not supported");
  }
  for (const auto& init : graph.initializer()) {
    if (init.data_type() == onnx::TensorProto::STRING) continue;
    Result<Tensor> t = TensorFromProto(init, where + ": initializer '" + init.name() + "'");
    if (!t.ok()) {
      if (t.status().code() == Status::Code::kNotSupported) continue;
      return t.status();
    }
    const size_t id = static_cast<size_t>(values->Id(init.name()));
    values->constants[id] = std::move(t).value();
    values->declared_dtypes[id] = init.data_type();
  }
  return Status::OK();
}

// Plans every graph attribute of `node` into `step` (bodies and captures).
Status PlanBodies(const Model& model, const onnx::NodeProto& node, PlanValues* values,
                  PlanStep* step) {
  std::set<int> captures;
  for (const auto& attr : node.attribute()) {
    if (!attr.has_g()) continue;
    Result<std::shared_ptr<const GraphPlan>> plan = PlanBodyGraph(model, node, attr);
    if (!plan.ok()) return plan.status();
    PlanBody body{attr.name(), std::move(plan).value(), {}};
    for (int id : body.plan->capture_ids) {
      body.outer_ids.push_back(values->Id(body.plan->values.names[static_cast<size_t>(id)]));
      captures.insert(body.outer_ids.back());
    }
    step->bodies.push_back(std::move(body));
  }
  step->captures.assign(captures.begin(), captures.end());
  return Status::OK();
}

}  // namespace

std::vector<std::string> FreeNames(const onnx::GraphProto& graph) {
  std::set<std::string> defined, used;
  for (const auto& in : graph.input()) defined.insert(in.name());
  for (const auto& init : graph.initializer()) defined.insert(init.name());
  for (const auto& node : graph.node()) {
    for (const auto& out : node.output()) defined.insert(out);
    for (const auto& in : node.input()) used.insert(in);
    for (const auto& attr : node.attribute()) {
      if (!attr.has_g()) continue;
      for (std::string& name : FreeNames(attr.g())) used.insert(std::move(name));
    }
  }
  for (const auto& out : graph.output()) used.insert(out.name());
  std::vector<std::string> free;
  for (const std::string& name : used) {
    if (!name.empty() && defined.count(name) == 0) free.push_back(name);
  }
  return free;
}

bool IsHeldConstant(const Model& model, const onnx::NodeProto& node) {
  return node.op_type() == "Constant" && IsDefaultDomain(node.domain()) &&
         node.output_size() > 0 && model.FindConstant(node.output(0)) != nullptr;
}

Status CheckKernelsExist(const Model& model, const onnx::GraphProto& graph, bool main_graph) {
  std::set<std::string> unsupported;
  std::string first;
  PQ_RETURN_IF_ERROR(CollectUnsupported(model, graph, main_graph, &unsupported, &first));
  if (unsupported.empty()) return Status::OK();
  std::string list;
  for (const std::string& op : unsupported) list += (list.empty() ? "" : ", ") + op;
  return Status::NotSupported(model.origin() + ": " + first +
                              " is not supported by pq's executor; unsupported in this model: " +
                              list);
}

Status CheckTensorValues(const onnx::GraphProto& graph, const std::string& where) {
  for (const auto* list : {&graph.input(), &graph.output()}) {
    for (const auto& value : *list) {
      if (value.type().value_case() != onnx::TypeProto::VALUE_NOT_SET &&
          !value.type().has_tensor_type()) {
        return Status::NotSupported(where + ": '" + value.name() +
                                    "' is not a tensor (optional, sequence or map values are not "
                                    "supported by pq's executor)");
      }
    }
  }
  return Status::OK();
}

Result<std::vector<int>> TopologicalOrder(const onnx::GraphProto& graph, const std::string& where) {
  const int n = graph.node_size();
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < n; ++i) {
    for (const auto& o : graph.node(i).output()) {
      if (!o.empty()) producer[o] = i;
    }
  }
  std::vector<std::vector<int>> consumers(static_cast<size_t>(n));
  std::vector<int> pending(static_cast<size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> reads(graph.node(i).input().begin(), graph.node(i).input().end());
    for (const auto& attr : graph.node(i).attribute()) {
      if (!attr.has_g()) continue;
      for (std::string& name : FreeNames(attr.g())) reads.push_back(std::move(name));
    }
    for (const std::string& in : reads) {
      auto p = producer.find(in);
      if (!in.empty() && p != producer.end()) {
        consumers[static_cast<size_t>(p->second)].push_back(i);
        ++pending[static_cast<size_t>(i)];
      }
    }
  }
  std::set<int> ready;
  for (int i = 0; i < n; ++i) {
    if (pending[static_cast<size_t>(i)] == 0) ready.insert(i);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    const int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (int c : consumers[static_cast<size_t>(i)]) {
      if (--pending[static_cast<size_t>(c)] == 0) ready.insert(c);
    }
  }
  if (static_cast<int>(order.size()) != n) {
    return Status::InvalidInput(where + ": the graph has a cycle");
  }
  return order;
}

Result<std::vector<PlanStep>> BuildSteps(const Model& model, const onnx::GraphProto& graph,
                                         const std::vector<int>& order, bool main_graph,
                                         const std::string& where, PlanValues* values) {
  std::vector<PlanStep> steps;
  for (int i : order) {
    const onnx::NodeProto& node = graph.node(i);
    if (main_graph && IsHeldConstant(model, node)) continue;  // already a constant tensor
    PlanStep step;
    step.node = &node;
    step.opset = model.OpsetVersion(node.domain());
    step.kernel = FindKernel(node.domain(), node.op_type(), step.opset);
    PQ_RETURN_IF_ERROR(CheckArity(node, step.opset, where + ": " + DescribeNode(node)));
    for (const auto& in : node.input()) step.inputs.push_back(in.empty() ? -1 : values->Id(in));
    for (const auto& out : node.output()) step.outputs.push_back(out.empty() ? -1 : values->Id(out));
    PQ_RETURN_IF_ERROR(PlanBodies(model, node, values, &step));
    steps.push_back(std::move(step));
  }
  return steps;
}

Status CheckValuesAvailable(const PlanValues& values, const std::vector<PlanStep>& steps,
                            const std::vector<int>& given, const std::vector<int>& output_ids,
                            const std::string& where) {
  std::vector<bool> available(values.names.size(), false);
  for (int id : given) available[static_cast<size_t>(id)] = true;
  for (const PlanStep& step : steps) {
    for (int id : step.captures) {
      const size_t i = static_cast<size_t>(id);
      if (available[i] || values.constants[i].defined()) continue;
      return Status::InvalidInput(where + ": " + DescribeNode(*step.node) + " has a body that reads '" +
                                  values.names[i] + "', which no enclosing graph defines before it");
    }
    for (int id : step.outputs) {
      if (id >= 0) available[static_cast<size_t>(id)] = true;
    }
  }
  for (int id : output_ids) {
    const size_t i = static_cast<size_t>(id);
    if (available[i] || values.constants[i].defined()) continue;
    return Status::InvalidInput(where + ": graph output '" + values.names[i] +
                                "' is not computed by any node and is neither a graph input nor a "
                                "constant pq's executor can read");
  }
  return Status::OK();
}

Result<std::shared_ptr<const GraphPlan>> PlanBodyGraph(const Model& model,
                                                       const onnx::NodeProto& node,
                                                       const onnx::AttributeProto& attr) {
  const onnx::GraphProto& graph = attr.g();
  const std::string where = model.origin() + ": " + DescribeNode(node) + ", body '" + attr.name() + "'";
  auto plan = std::make_shared<GraphPlan>();
  plan->graph = &graph;
  PlanValues& values = plan->values;
  PQ_RETURN_IF_ERROR(CheckTensorValues(graph, where));
  PQ_RETURN_IF_ERROR(LoadBodyInitializers(graph, where, &values));
  for (const auto& in : graph.input()) {
    plan->input_ids.push_back(values.Id(in.name()));
    values.declared_dtypes[static_cast<size_t>(plan->input_ids.back())] =
        in.type().tensor_type().elem_type();
  }
  for (const std::string& name : FreeNames(graph)) plan->capture_ids.push_back(values.Id(name));
  for (const auto& out : graph.output()) plan->output_ids.push_back(values.Id(out.name()));
  Result<std::vector<int>> order = TopologicalOrder(graph, where);
  if (!order.ok()) return order.status();
  Result<std::vector<PlanStep>> steps = BuildSteps(model, graph, order.value(), false, where, &values);
  if (!steps.ok()) return steps.status();
  plan->steps = std::move(steps).value();
  std::vector<int> given = plan->input_ids;
  given.insert(given.end(), plan->capture_ids.begin(), plan->capture_ids.end());
  PQ_RETURN_IF_ERROR(CheckValuesAvailable(values, plan->steps, given, plan->output_ids, where));
  values.types = InferValueTypes(graph, values, plan->steps);
  plan->rounded = RoundedValues(values, plan->steps, plan->output_ids, Float16Rounding::kOnnxRuntimeCpu);
  SetReleases(values, plan->output_ids, &plan->steps);
  SetRounding(values, plan->rounded, &plan->steps);
  return std::shared_ptr<const GraphPlan>(std::move(plan));
}

}  // namespace pq::exec
