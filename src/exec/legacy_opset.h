// Which default-domain nodes pq's executor runs in models older than opset 7.
#ifndef PQ_EXEC_LEGACY_OPSET_H_
#define PQ_EXEC_LEGACY_OPSET_H_

#include <cstdint>

#include "onnx/onnx_pb.h"
#include "pq/status.h"

namespace pq::exec {

// The first default-domain opset whose ops pq's kernels implement throughout.
inline constexpr int64_t kFirstCurrentOpset = 7;

// OK for a node outside the default domain or at `opset` >= 7, and for a
// node whose op means at `opset` what pq's kernel computes. Otherwise
// kNotSupported naming the node and why its version differs (e.g. the
// legacy consumed_inputs attribute, BatchNormalization-1's spatial/is_test,
// the broadcast attribute of the arithmetic ops before opset 7).
Status CheckLegacyOpset(const onnx::NodeProto& node, int64_t opset);

}  // namespace pq::exec

#endif  // PQ_EXEC_LEGACY_OPSET_H_
