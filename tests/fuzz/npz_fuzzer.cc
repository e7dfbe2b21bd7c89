// Fuzz target: the .npz reader (libzip + the .npy parser) on a file.
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_util.h"
#include "pq/npz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = pq::fuzz::ScratchDir() + "/fuzz.npz";
  pq::fuzz::WriteBytes(path, data, size);
  pq::Result<std::unique_ptr<pq::NpzFile>> npz = pq::NpzFile::Open(path);
  if (!npz.ok()) return 0;
  pq::NpzFile& file = *npz.value();
  const std::vector<std::string> names = file.names();
  for (const std::string& name : names) {
    pq::Result<const pq::NpyHeader*> header = file.Load(name);
    if (!header.ok()) continue;
    const int64_t rows = header.value()->shape.empty() ? 1 : header.value()->shape[0];
    if (rows > 0) {
      (void)file.Rows(name, 0, 1);
      (void)file.Rows(name, rows - 1, 1);
    }
    if (rows <= (1 << 16)) (void)file.Rows(name, 0, rows);
  }
  (void)file.Load("no such array");
  return 0;
}
