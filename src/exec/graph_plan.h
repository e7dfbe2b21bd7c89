// Planning a graph for the executor: the model's main graph (executor.cc)
// and, recursively, the bodies of its control-flow nodes (If, Loop, Scan),
// each planned once per node when the executor is created.
#ifndef PQ_EXEC_GRAPH_PLAN_H_
#define PQ_EXEC_GRAPH_PLAN_H_

#include <memory>
#include <string>
#include <vector>

#include "exec/plan.h"
#include "onnx/onnx_pb.h"
#include "pq/model.h"
#include "pq/status.h"

namespace pq::exec {

// The names `graph` reads without defining them (as a graph input, an
// initializer or a node output), its nested bodies' included: the
// outer-scope values a body reads by name. Sorted, empty names excluded.
std::vector<std::string> FreeNames(const onnx::GraphProto& graph);

// True for a Constant node of the main graph that `model` already holds as
// a constant tensor (Model::FindConstant); the executor reads it from there.
bool IsHeldConstant(const Model& model, const onnx::NodeProto& node);

// Every op of `graph` and of its nested bodies must have a kernel at the
// model's opset: returns kNotSupported naming the first node without one and
// listing every unsupported domain:op-opset. `main_graph` says whether the
// model's held constants (IsHeldConstant) are skipped.
Status CheckKernelsExist(const Model& model, const onnx::GraphProto& graph, bool main_graph);

// Optional, sequence and map graph inputs and outputs are outside what the
// executor holds: returns kNotSupported "<where>: '<name>' is not a tensor …".
Status CheckTensorValues(const onnx::GraphProto& graph, const std::string& where);

// The node indices of `graph` in topological order (stable: graph order
// among ready nodes); a node depends on its inputs and on the values its
// bodies read from this graph. kInvalidInput "<where>: the graph has a
// cycle".
Result<std::vector<int>> TopologicalOrder(const onnx::GraphProto& graph, const std::string& where);

// One plan step per node of `order` (the model's held constants skipped when
// `main_graph`), with its kernel, its value ids in `values` and its planned
// bodies (PlanBody). Errors name the node whose inputs or outputs do not
// satisfy its schema, or the body that cannot be planned.
Result<std::vector<PlanStep>> BuildSteps(const Model& model, const onnx::GraphProto& graph,
                                         const std::vector<int>& order, bool main_graph,
                                         const std::string& where, PlanValues* values);

// Refuses a graph output, or a value a body captures, that is neither in
// `given` (graph inputs, a body's captures), an output of a step nor a
// constant the executor holds: the run could not provide it.
Status CheckValuesAvailable(const PlanValues& values, const std::vector<PlanStep>& steps,
                            const std::vector<int>& given, const std::vector<int>& output_ids,
                            const std::string& where);

// Plans the graph attribute `attr` of `node`: its initializers, formal
// inputs, captures (FreeNames), steps (nested bodies too), types, releases
// and rounding. Errors (kNotSupported for non-tensor inputs or outputs,
// kInvalidInput otherwise) name the node and the attribute.
Result<std::shared_ptr<const GraphPlan>> PlanBodyGraph(const Model& model,
                                                       const onnx::NodeProto& node,
                                                       const onnx::AttributeProto& attr);

}  // namespace pq::exec

#endif  // PQ_EXEC_GRAPH_PLAN_H_
