// Fuzz target: the external-data resolver. The input is split into a model
// (ModelProto bytes) and the content of a data file; the model is loaded from
// a folder that holds the data file under several names ("w.bin",
// "sub/w.bin", a symlink "link.bin" and a hard link "hard.bin"), so that
// fuzzed locations, offsets and lengths meet real files. A secret file beside
// the folder must never be read.
//
// Layout: [4-byte little-endian model length][model bytes][data file bytes].
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fuzz/fuzz_util.h"
#include "pq/inspect.h"
#include "pq/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  uint32_t model_len = 0;
  for (int i = 0; i < 4; ++i) model_len |= static_cast<uint32_t>(data[i]) << (8 * i);
  data += 4;
  size -= 4;
  if (model_len > size) model_len = static_cast<uint32_t>(size);
  pq::fuzz::ClearScratch();
  const std::string& root = pq::fuzz::ScratchDir();
  const std::string dir = root + "/model";
  mkdir(dir.c_str(), 0700);
  mkdir((dir + "/sub").c_str(), 0700);
  const uint8_t* file_bytes = data + model_len;
  const size_t file_size = size - model_len;
  pq::fuzz::WriteBytes(root + "/secret.bin", file_bytes, file_size);
  pq::fuzz::WriteBytes(dir + "/w.bin", file_bytes, file_size);
  pq::fuzz::WriteBytes(dir + "/sub/w.bin", file_bytes, file_size);
  symlink("../secret.bin", (dir + "/link.bin").c_str());
  link((root + "/secret.bin").c_str(), (dir + "/hard.bin").c_str());
  const std::string path = dir + "/model.onnx";
  pq::fuzz::WriteBytes(path, data, model_len);
  pq::Result<std::unique_ptr<pq::Model>> model = pq::Model::Load(path);
  if (model.ok()) {
    // Touch every byte the loader resolved, so that ASan sees a bad view.
    uint8_t sum = 0;
    for (const pq::ConstantTensor& c : model.value()->constants()) {
      for (int64_t i = 0; c.data != nullptr && i < c.byte_size; ++i) sum ^= c.data[i];
    }
    (void)sum;
    for (const pq::ExternalFile& f : model.value()->ExternalFiles()) {
      if (f.location.find("secret") != std::string::npos) __builtin_trap();
    }
    (void)pq::InspectModel(*model.value());
  }
  return 0;
}
