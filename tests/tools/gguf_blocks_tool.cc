// Test helper for tests/interop/ggml_layout_check.py (not installed).
//
//   gguf_blocks_tool ROWS.npy IMPORTANCE.npy OUT.gguf OUT_DIR
//     Reads float rows [rows, n] and per-column importance [n], writes one
//     tensor per pq type, "<type>.plain" and "<type>.imp" (dims {n, rows}),
//     into OUT.gguf, and pq's own decoding of each into OUT_DIR/<name>.f32.
//   gguf_blocks_tool --storage
//     Prints pq's ggml storage table, one "id name block_size block_bytes" a line.
// Exit 0 on success, 1 with a message on stderr otherwise.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <vector>

#include "gguf/ggml_types.h"
#include "gguf/gguf_file.h"
#include "pq/npy.h"

namespace {

using pq::gguf::GgmlType;

constexpr GgmlType kTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kQ8_0, GgmlType::kQ4_0,
                               GgmlType::kQ5_0, GgmlType::kQ4_K, GgmlType::kIq4Nl};
constexpr uint32_t kMaxTypeId = 64;

int Fail(const std::string& message) {
  std::cerr << "gguf_blocks_tool: " << message << "\n";
  return 1;
}

pq::Result<pq::Tensor> ReadAll(const std::string& path) {
  pq::Result<std::unique_ptr<pq::NpyFile>> file = pq::NpyFile::Open(path);
  if (!file.ok()) return file.status();
  const auto& shape = file.value()->header().shape;
  return file.value()->Rows(0, shape.empty() ? 1 : shape[0]);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--storage") {
    for (uint32_t id = 0; id < kMaxTypeId; ++id) {
      if (const pq::gguf::GgmlStorage* s = pq::gguf::StorageOf(id)) {
        std::cout << id << " " << s->name << " " << s->block_size << " " << s->block_bytes << "\n";
      }
    }
    return 0;
  }
  if (argc != 5) return Fail("usage: gguf_blocks_tool ROWS.npy IMPORTANCE.npy OUT.gguf OUT_DIR | --storage");
  pq::Result<pq::Tensor> rows = ReadAll(argv[1]);
  if (!rows.ok()) return Fail(rows.status().ToString());
  pq::Result<pq::Tensor> importance = ReadAll(argv[2]);
  if (!importance.ok()) return Fail(importance.status().ToString());
  if (rows->shape().size() != 2 || importance->shape().size() != 1 ||
      importance->shape()[0] != rows->shape()[1]) {
    return Fail("expected rows [rows, n] and importance [n]");
  }
  const int64_t count = rows->shape()[0], n = rows->shape()[1];
  const float* x = rows->data<float>();
  const float* w = importance->data<float>();

  std::vector<pq::gguf::TensorToWrite> tensors;
  for (GgmlType type : kTypes) {
    for (bool use_importance : {false, true}) {
      pq::gguf::TensorToWrite t;
      t.name = std::string(pq::gguf::TraitsOf(type)->name) + (use_importance ? ".imp" : ".plain");
      t.dims = {n, count};
      t.type = type;
      const int64_t row_bytes = pq::gguf::RowBytes(type, n);
      t.bytes.resize(row_bytes * count);
      std::vector<float> decoded(n * count);
      for (int64_t r = 0; r < count; ++r) {
        const pq::Status s = pq::gguf::QuantizeRow(type, x + r * n, n, use_importance ? w : nullptr,
                                                   t.bytes.data() + r * row_bytes);
        if (!s.ok()) return Fail(t.name + ": " + s.ToString());
        pq::gguf::DequantizeRow(type, t.bytes.data() + r * row_bytes, n, decoded.data() + r * n);
      }
      std::ofstream out(std::string(argv[4]) + "/" + t.name + ".f32", std::ios::binary);
      out.write(reinterpret_cast<const char*>(decoded.data()), decoded.size() * sizeof(float));
      if (!out) return Fail("cannot write the decoding of " + t.name);
      tensors.push_back(std::move(t));
    }
  }
  const pq::Status s = pq::gguf::WriteGguf(argv[3], {{"general.architecture", pq::gguf::Value::String("pq-blocks")}},
                                           tensors);
  if (!s.ok()) return Fail(s.ToString());
  return 0;
}
