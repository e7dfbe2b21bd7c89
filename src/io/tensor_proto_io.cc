#include "pq/tensor_proto_io.h"

#include <fstream>
#include <sstream>

#include "io/tensor_bytes.h"
#include "onnx/onnx_pb.h"

namespace pq {

Result<Tensor> TensorFromProto(const onnx::TensorProto& proto, const std::string& what) {
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    return Status::NotSupported(what + ": external data in a standalone tensor file");
  }
  PQ_RETURN_IF_ERROR(CheckInlineTensorData(proto, what));
  if (proto.data_type() == onnx::TensorProto::STRING) {
    return Status::NotSupported(what + ": string tensors are not supported by the executor");
  }
  std::vector<int64_t> dims(proto.dims().begin(), proto.dims().end());
  if (proto.has_raw_data()) {
    return TensorFromBytes(proto.data_type(), dims,
                           reinterpret_cast<const uint8_t*>(proto.raw_data().data()),
                           static_cast<int64_t>(proto.raw_data().size()), what);
  }
  const std::string packed = PackTypedFields(proto);
  return TensorFromBytes(proto.data_type(), dims, reinterpret_cast<const uint8_t*>(packed.data()),
                         static_cast<int64_t>(packed.size()), what);
}

Result<Tensor> ReadTensorProtoFile(const std::string& path, std::string* name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidInput(path + ": cannot open");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes.str())) {
    return Status::InvalidInput(path + ": not a serialized ONNX TensorProto");
  }
  if (name != nullptr) *name = proto.name();
  return TensorFromProto(proto, path);
}

}  // namespace pq
