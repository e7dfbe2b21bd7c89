// Names of values inside control-flow bodies (If branches, Loop and Scan
// bodies), shared by the executor, which shows them to observers, and the
// quantizer, which calibrates and reports them. A body is named by its path
// from the main graph; a value inside it by the path and its own name, since
// sibling bodies (an If's two branches) may define the same name.
#ifndef PQ_BASE_BODY_PATH_H_
#define PQ_BASE_BODY_PATH_H_

#include <string>

#include "onnx/onnx_pb.h"

namespace pq {

// The path naming a body: "<OpType> '<node name>'/<attribute>", or
// "<OpType> #<index>/<attribute>" for an unnamed node (`index` its position
// in its graph), joined by '/' from the main graph down (`outer` is the path
// of the graph holding `node`, "" for the main graph), e.g.
// "If 'gate'/then_branch/Loop #0/body".
std::string BodyPath(const std::string& outer, const onnx::NodeProto& node, int index,
                     const std::string& attribute);

// The name under which a value of the graph `path` names is observed and
// calibrated: the value's own name in the main graph (path ""), else
// "<path>::<name>", e.g. "If 'gate'/then_branch::x".
std::string ScopedValueName(const std::string& path, const std::string& name);

// Whether `key` has the form ScopedValueName gives a value inside a body:
// "<OpType> '<node name>'/..." or "<OpType> #<index>/..." followed by "::"
// and the value's own name. (A main-graph value whose own name looks like
// that is taken for one; exporters do not write such names.)
bool IsBodyValueName(const std::string& key);

}  // namespace pq

#endif  // PQ_BASE_BODY_PATH_H_
