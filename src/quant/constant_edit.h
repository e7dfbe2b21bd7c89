// Reading and rewriting a graph's constants in place, for the stages that
// rescale weights without changing what the model computes (AWQ's and
// SmoothQuant's fold, cross-layer equalization, bias correction).
#ifndef PQ_QUANT_CONSTANT_EDIT_H_
#define PQ_QUANT_CONSTANT_EDIT_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "onnx/onnx_pb.h"

namespace pq::quant {

// Who reads what in the main graph. Shape and Size are not counted: they
// read a tensor's shape alone, which rescaling keeps.
class GraphReaders {
 public:
  explicit GraphReaders(const onnx::GraphProto& graph);
  // Whether `name` is read by nodes in `allowed` only (and not as a graph
  // output or inside a subgraph).
  bool OnlyBy(const std::string& name, const std::set<int>& allowed) const;
  // The main-graph nodes reading `name` (each once), or empty.
  std::set<int> NodesReading(const std::string& name) const;
  // Whether `name` is a graph output or read inside a subgraph.
  bool ReadOutsideNodes(const std::string& name) const { return external_.count(name) != 0; }

 private:
  std::map<std::string, std::set<int>> nodes_;
  std::set<std::string> external_;
};

// Replaces the value of constant `name` (an initializer or a Constant node's
// output) in `graph` by `values` of shape `dims`, stored as float type
// `dtype` (float32, float16 or bfloat16). Nothing happens when `graph` has
// no such constant.
void SetConstant(onnx::GraphProto* graph, const std::string& name, int32_t dtype, const std::vector<int64_t>& dims,
                 const std::vector<float>& values);

}  // namespace pq::quant

#endif  // PQ_QUANT_CONSTANT_EDIT_H_
