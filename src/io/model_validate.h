// Structural validation of an ONNX model, independent of onnx's checker (which
// in Debian's onnx 1.12 rejects opsets newer than 17).
#ifndef PQ_IO_MODEL_VALIDATE_H_
#define PQ_IO_MODEL_VALIDATE_H_

#include <string>
#include <vector>

#include "pq/status.h"

namespace onnx {
class ModelProto;
}

namespace pq {

class ExternalDataStore;

// The deepest nesting of subgraphs (If/Loop/Scan bodies) pq accepts.
inline constexpr int kMaxSubgraphDepth = 32;
// The ir_version and default-domain opset ranges pq loads. The executor
// runs the ops of opsets 1-6 whose meaning is today's (exec/legacy_opset.h);
// pq quantize upgrades from opset 7.
inline constexpr int64_t kMinIrVersion = 3;
inline constexpr int64_t kMaxIrVersion = 10;
inline constexpr int64_t kMinOpset = 1;
inline constexpr int64_t kMaxOpset = 21;

// Validates `model`: ir_version and opset_import, every graph (names defined
// once, every node input defined, outputs produced, no cycles, bounded
// nesting) and every tensor (dims, data type, data size; external data is
// resolved through `store`). Findings that do not stop pq (newer versions
// than it knows) are appended to `warnings`. `origin` prefixes messages.
Status ValidateModel(const onnx::ModelProto& model, const std::string& origin,
                     ExternalDataStore* store, std::vector<std::string>* warnings);

}  // namespace pq

#endif  // PQ_IO_MODEL_VALIDATE_H_
