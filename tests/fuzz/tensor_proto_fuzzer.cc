// Fuzz target: TensorFromProto on a parsed TensorProto, and
// ReadTensorProtoFile on the same bytes as a file.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_util.h"
#include "onnx/onnx_pb.h"
#include "pq/tensor_proto_io.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  onnx::TensorProto proto;
  if (proto.ParseFromArray(data, static_cast<int>(size))) {
    pq::Result<pq::Tensor> t = pq::TensorFromProto(proto, "fuzz.pb");
    if (t.ok() && t->byte_size() > 0) {
      // Read every byte of the result so ASan sees a short buffer.
      const uint8_t* p = static_cast<const uint8_t*>(t->raw());
      uint8_t sum = 0;
      for (int64_t i = 0; i < t->byte_size(); ++i) sum ^= p[i];
      (void)sum;
    }
  }
  const std::string path = pq::fuzz::ScratchDir() + "/input_0.pb";
  pq::fuzz::WriteBytes(path, data, size);
  std::string name;
  (void)pq::ReadTensorProtoFile(path, &name);
  return 0;
}
