// NameAllocator: hands out value and node names not yet used anywhere in a
// graph, for the writers that add to it.
#ifndef PQ_QUANT_NAME_ALLOCATOR_H_
#define PQ_QUANT_NAME_ALLOCATOR_H_

#include <set>
#include <string>

#include "onnx/onnx_pb.h"

namespace pq::quant {

class NameAllocator {
 public:
  // Reserves every name `graph` and its If/Loop/Scan bodies (at any depth)
  // already use: a body may read a new main-graph name, so none may repeat.
  explicit NameAllocator(const onnx::GraphProto& graph) { Reserve(graph); }

  // Returns `base`, or `base_1`, `base_2`, ... : the first name not used yet.
  std::string Make(const std::string& base) {
    std::string name = base;
    for (int i = 1; used_.count(name) != 0; ++i) name = base + "_" + std::to_string(i);
    used_.insert(name);
    return name;
  }

 private:
  void Reserve(const onnx::GraphProto& graph) {
    for (const auto& v : graph.input()) used_.insert(v.name());
    for (const auto& v : graph.output()) used_.insert(v.name());
    for (const auto& v : graph.initializer()) used_.insert(v.name());
    for (const auto& v : graph.value_info()) used_.insert(v.name());
    for (const auto& n : graph.node()) {
      used_.insert(n.name());
      for (const auto& o : n.output()) used_.insert(o);
      for (const auto& i : n.input()) used_.insert(i);
      for (const auto& a : n.attribute()) {
        if (a.has_g()) Reserve(a.g());
        for (const auto& g : a.graphs()) Reserve(g);
      }
    }
  }

  std::set<std::string> used_;
};

}  // namespace pq::quant

#endif  // PQ_QUANT_NAME_ALLOCATOR_H_
