// LoadTokenizer (read the file, hash it, dispatch on its name) and
// TokenizerKeyValues (TokenizerMeta -> tokenizer.ggml.* metadata).
#include "gguf/tokenizer_meta.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "util/sha256.h"

namespace pq::gguf {
namespace {

// Tokenizer files are megabytes; anything past this is not one.
constexpr std::streamoff kMaxTokenizerBytes = std::streamoff{1} << 30;

Result<std::string> ReadWholeFile(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return Status::InvalidInput(path + ": not a regular file (expected a tokenizer file)");
  }
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status::InvalidInput(path + ": cannot open the tokenizer file");
  const std::streamoff size = in.tellg();
  if (size < 0) return Status::InvalidInput(path + ": cannot read the tokenizer file");
  if (size > kMaxTokenizerBytes) {
    return Status::InvalidInput(path + ": " + std::to_string(size) +
                                " bytes, more than a tokenizer file holds (at most 1 GiB)");
  }
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (!in.read(bytes.data(), size)) {
    return Status::InvalidInput(path + ": cannot read the tokenizer file");
  }
  return bytes;
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Values built field by field (the Value factories of gguf_file.h belong to
// the GGUF writer; these produce the same fields).
Value StringValue(const std::string& s) {
  Value v;
  v.type = ValueType::kString;
  v.string = s;
  return v;
}

Value Uint32Value(int64_t id) {
  Value v;
  v.type = ValueType::kUint32;
  v.integer = id;
  return v;
}

Value BoolValue(bool b) {
  Value v;
  v.type = ValueType::kBool;
  v.integer = b ? 1 : 0;
  return v;
}

Value ArrayValue(ValueType element_type) {
  Value v;
  v.type = ValueType::kArray;
  v.element_type = element_type;
  return v;
}

}  // namespace

Result<TokenizerMeta> LoadTokenizer(const std::string& path) {
  Result<std::string> bytes = ReadWholeFile(path);
  if (!bytes.ok()) return bytes.status();
  Result<TokenizerMeta> meta = EndsWith(path, ".json") ? ParseTokenizerJson(*bytes, path)
                                                       : ParseSentencePieceModel(*bytes, path);
  if (!meta.ok()) return meta;
  meta->source_path = path;
  meta->source_sha256 = Sha256Bytes(bytes->data(), bytes->size());
  return meta;
}

std::vector<KeyValue> TokenizerKeyValues(const TokenizerMeta& meta) {
  std::vector<KeyValue> kvs;
  kvs.push_back({"tokenizer.ggml.model", StringValue(meta.model)});
  kvs.push_back({"tokenizer.ggml.pre", StringValue(meta.pre)});

  Value tokens = ArrayValue(ValueType::kString);
  tokens.strings = meta.tokens;
  kvs.push_back({"tokenizer.ggml.tokens", std::move(tokens)});

  if (!meta.scores.empty()) {
    Value scores = ArrayValue(ValueType::kFloat32);
    scores.reals.assign(meta.scores.begin(), meta.scores.end());
    kvs.push_back({"tokenizer.ggml.scores", std::move(scores)});
  }

  Value types = ArrayValue(ValueType::kInt32);
  for (TokenType t : meta.types) types.integers.push_back(static_cast<int32_t>(t));
  kvs.push_back({"tokenizer.ggml.token_type", std::move(types)});

  if (!meta.merges.empty()) {
    Value merges = ArrayValue(ValueType::kString);
    merges.strings = meta.merges;
    kvs.push_back({"tokenizer.ggml.merges", std::move(merges)});
  }

  const std::pair<const char*, int64_t> ids[] = {
      {"tokenizer.ggml.bos_token_id", meta.bos_id},
      {"tokenizer.ggml.eos_token_id", meta.eos_id},
      {"tokenizer.ggml.unknown_token_id", meta.unk_id},
      {"tokenizer.ggml.padding_token_id", meta.pad_id},
  };
  for (const auto& [key, id] : ids) {
    if (id >= 0) kvs.push_back({key, Uint32Value(id)});
  }
  kvs.push_back({"tokenizer.ggml.add_bos_token", BoolValue(meta.add_bos)});
  kvs.push_back({"tokenizer.ggml.add_eos_token", BoolValue(meta.add_eos)});
  return kvs;
}

}  // namespace pq::gguf
