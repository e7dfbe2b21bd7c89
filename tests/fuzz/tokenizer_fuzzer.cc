// Fuzz target: the tokenizer loaders of the GGUF export. The same bytes go
// to the SentencePiece `.model` reader and the tokenizer.json reader (in
// memory, then through LoadTokenizer from a file), and every tokenizer
// accepted is turned into its tokenizer.ggml.* key/values. Any input must
// give a tokenizer or a Status, never a crash; an accepted tokenizer must
// keep the invariants below (a violation traps, so libFuzzer reports it).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "gguf/tokenizer_meta.h"

namespace {

void Check(bool condition) {
  if (!condition) __builtin_trap();
}

bool IdInRange(int64_t id, size_t n) { return id == -1 || (id >= 0 && static_cast<size_t>(id) < n); }

// What every accepted tokenizer promises its GGUF writer.
void CheckAccepted(const pq::Result<pq::gguf::TokenizerMeta>& meta) {
  if (!meta.ok()) {
    Check(!meta.status().message().empty());
    Check(meta.status().message().find('\n') == std::string::npos);
    return;
  }
  const size_t n = meta->tokens.size();
  Check(n > 0);
  Check(meta->types.size() == n);
  Check(meta->scores.empty() || meta->scores.size() == n);
  for (int64_t id : {meta->bos_id, meta->eos_id, meta->unk_id, meta->pad_id}) {
    Check(IdInRange(id, n));
  }
  const std::vector<pq::gguf::KeyValue> kvs = pq::gguf::TokenizerKeyValues(*meta);
  Check(kvs.size() >= 5);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  CheckAccepted(pq::gguf::ParseSentencePieceModel(bytes, "fuzz.model"));
  CheckAccepted(pq::gguf::ParseTokenizerJson(bytes, "fuzz.json"));

  // Through the file path too, under the name that picks each reader.
  const std::string name = size > 0 && (data[0] == '{' || data[0] == '[') ? "/tokenizer.json"
                                                                           : "/tokenizer.model";
  const std::string path = pq::fuzz::ScratchDir() + name;
  pq::fuzz::WriteBytes(path, data, size);
  CheckAccepted(pq::gguf::LoadTokenizer(path));
  return 0;
}
