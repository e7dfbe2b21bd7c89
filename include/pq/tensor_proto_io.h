// Reading serialized ONNX TensorProto files (ONNX's test-data layout,
// test_data_set_*/input_*.pb) into executor tensors.
#ifndef PQ_TENSOR_PROTO_IO_H_
#define PQ_TENSOR_PROTO_IO_H_

#include <string>

#include "pq/status.h"
#include "pq/tensor.h"

namespace onnx {
class TensorProto;
}

namespace pq {

// Converts an in-memory TensorProto (raw_data or typed fields; not external)
// to an executor tensor. `what` names it in messages.
// Errors: kInvalidInput for data that does not match dims and type,
// kNotSupported for types the executor does not compute with.
Result<Tensor> TensorFromProto(const onnx::TensorProto& proto, const std::string& what);

// Reads the TensorProto serialized in the file at `path`; `name` receives
// its name (may be empty) when not null.
Result<Tensor> ReadTensorProtoFile(const std::string& path, std::string* name = nullptr);

}  // namespace pq

#endif  // PQ_TENSOR_PROTO_IO_H_
