// Fuzz target: the .npy reader, in memory (ParseNpyHeader + NpyRows) and
// from a file (NpyFile::Open + Rows).
#include <cstddef>
#include <cstdint>

#include "fuzz/fuzz_util.h"
#include "pq/npy.h"

namespace {

// Rows to ask for: all of them, the first, and the last, when the array has
// any; bounded so that a huge declared shape is not read whole.
constexpr int64_t kMaxRows = 1 << 16;

template <typename ReadRows>
void ReadSomeRows(const pq::NpyHeader& header, ReadRows read) {
  const int64_t rows = header.shape.empty() ? 1 : header.shape[0];
  if (rows <= kMaxRows) (void)read(0, rows);
  if (rows > 0) {
    (void)read(0, 1);
    (void)read(rows - 1, 1);
  }
  (void)read(rows, 1);  // out of range: must be refused
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const int64_t n = static_cast<int64_t>(size);
  pq::Result<pq::NpyHeader> header = pq::ParseNpyHeader(data, n, "fuzz.npy");
  if (header.ok()) {
    ReadSomeRows(header.value(), [&](int64_t first, int64_t count) {
      return pq::NpyRows(header.value(), data, first, count, "fuzz.npy");
    });
  }
  // A prefix shorter than the image, as NpyFile passes it.
  (void)pq::ParseNpyHeader(data, n + 1000, "fuzz.npy", n);

  const std::string path = pq::fuzz::ScratchDir() + "/fuzz.npy";
  pq::fuzz::WriteBytes(path, data, size);
  pq::Result<std::unique_ptr<pq::NpyFile>> file = pq::NpyFile::Open(path);
  if (file.ok()) {
    const pq::NpyFile& f = *file.value();
    ReadSomeRows(f.header(), [&](int64_t first, int64_t count) { return f.Rows(first, count); });
  }
  return 0;
}
