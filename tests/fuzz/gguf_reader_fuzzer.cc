// Fuzz target: the GGUF reader, in memory (ParseGguf) and from a file
// (ReadGguf, which reads the head in growing prefixes). Whatever the bytes,
// both must return a Status, agree with each other, and any tensor they
// accept must lie inside the file.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "fuzz/fuzz_util.h"
#include "gguf/gguf_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pq::Result<pq::gguf::GgufContents> parsed = pq::gguf::ParseGguf(data, size, "fuzz.gguf");
  if (parsed.ok()) {
    for (const pq::gguf::TensorInfoRecord& t : parsed->tensors) {
      if (parsed->data_offset + t.offset + t.bytes > size) std::abort();  // accepted data beyond the file
    }
  }
  const std::string path = pq::fuzz::ScratchDir() + "/fuzz.gguf";
  pq::fuzz::WriteBytes(path, data, size);
  pq::Result<pq::gguf::GgufContents> read = pq::gguf::ReadGguf(path);
  if (read.ok() != parsed.ok()) std::abort();  // the two readers disagree
  return 0;
}
