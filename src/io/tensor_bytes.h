// Size checks and byte decoding for TensorProto data held inside the model.
#ifndef PQ_IO_TENSOR_BYTES_H_
#define PQ_IO_TENSOR_BYTES_H_

#include <cstdint>
#include <string>

#include "pq/status.h"

namespace onnx {
class TensorProto;
}

namespace pq {

// Returns the element count of `tensor`'s dims. Errors (kInvalidInput, naming
// `where`): a negative dim, or a product that overflows int64.
Result<int64_t> TensorElementCount(const onnx::TensorProto& tensor, const std::string& where);

// Returns the bytes `tensor` must occupy as raw_data (0 for STRING tensors).
// Errors: bad dims (as above), unknown data type (kNotSupported), overflow.
Result<int64_t> ExpectedRawBytes(const onnx::TensorProto& tensor, const std::string& where);

// Checks that a tensor stored inside the model (raw_data or a typed field)
// holds exactly as much data as its dims and type require.
// REQUIRES: the tensor's data_location is not EXTERNAL.
Status CheckInlineTensorData(const onnx::TensorProto& tensor, const std::string& where);

// Returns the tensor's typed-field data (float_data, int32_data, ...) packed
// little-endian as raw_data would hold it. REQUIRES: CheckInlineTensorData
// passed, no raw_data, not STRING.
std::string PackTypedFields(const onnx::TensorProto& tensor);

}  // namespace pq

#endif  // PQ_IO_TENSOR_BYTES_H_
