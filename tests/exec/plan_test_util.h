// Plans built by hand from a GraphProto, for the tests of plan-time analyses
// (value types, float16 placement).
#ifndef PQ_TESTS_EXEC_PLAN_TEST_UTIL_H_
#define PQ_TESTS_EXEC_PLAN_TEST_UTIL_H_

#include <string>
#include <utility>
#include <vector>

#include "exec/plan.h"
#include "onnx/onnx_pb.h"

namespace pq::exec {

// A graph's values and steps in graph order, as Executor::Create numbers them;
// `declared` gives the constants' and graph inputs' declared types.
struct Plan {
  PlanValues values;
  std::vector<PlanStep> steps;
};

inline Plan MakePlan(const onnx::GraphProto& graph,
                     const std::vector<std::pair<std::string, int32_t>>& declared) {
  Plan plan;
  for (const auto& [name, dtype] : declared) {
    plan.values.declared_dtypes[static_cast<size_t>(plan.values.Id(name))] = dtype;
  }
  for (const onnx::NodeProto& node : graph.node()) {
    PlanStep step;
    step.node = &node;
    step.kernel = nullptr;
    step.opset = 21;
    for (const auto& in : node.input()) step.inputs.push_back(in.empty() ? -1 : plan.values.Id(in));
    for (const auto& out : node.output()) step.outputs.push_back(out.empty() ? -1 : plan.values.Id(out));
    plan.steps.push_back(std::move(step));
  }
  return plan;
}

inline onnx::NodeProto* AddNode(onnx::GraphProto* g, const std::string& op,
                                const std::vector<std::string>& in,
                                const std::vector<std::string>& out) {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  for (const auto& s : in) n->add_input(s);
  for (const auto& s : out) n->add_output(s);
  return n;
}

inline void AddInt(onnx::NodeProto* n, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

}  // namespace pq::exec

#endif  // PQ_TESTS_EXEC_PLAN_TEST_UTIL_H_
