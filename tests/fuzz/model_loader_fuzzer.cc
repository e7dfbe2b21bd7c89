// Fuzz target: bytes -> a model file -> Model::Load -> InspectModel.
// Any input must give a model or a Status, never a crash.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_util.h"
#include "pq/inspect.h"
#include "pq/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = pq::fuzz::ScratchDir() + "/model.onnx";
  pq::fuzz::WriteBytes(path, data, size);
  pq::Result<std::unique_ptr<pq::Model>> model = pq::Model::Load(path);
  if (model.ok()) {
    const nlohmann::ordered_json doc = pq::InspectModel(*model.value());
    (void)pq::RenderInspection(doc);
  }
  return 0;
}
