#include "base/body_path.h"

namespace pq {

std::string BodyPath(const std::string& outer, const onnx::NodeProto& node, int index,
                     const std::string& attribute) {
  const std::string label = node.name().empty() ? node.op_type() + " #" + std::to_string(index)
                                                : node.op_type() + " '" + node.name() + "'";
  return (outer.empty() ? "" : outer + "/") + label + "/" + attribute;
}

std::string ScopedValueName(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "::" + name;
}

bool IsBodyValueName(const std::string& key) {
  const size_t space = key.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 >= key.size()) return false;
  const char mark = key[space + 1];
  return (mark == '\'' || mark == '#') && key.find('/', space) != std::string::npos &&
         key.find("::", space) != std::string::npos;
}

}  // namespace pq
