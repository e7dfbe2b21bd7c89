// TokenizerKeyValues: the tokenizer.ggml.* metadata written for a tokenizer.
#include "gguf/tokenizer_meta.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pq::gguf {
namespace {

TokenizerMeta SentencePieceLike() {
  TokenizerMeta meta;
  meta.model = "llama";
  meta.pre = "default";
  meta.tokens = {"<unk>", "<s>", "</s>", "<0x41>", "a"};
  meta.scores = {0, 0, 0, 0, -1.25f};
  meta.types = {TokenType::kUnknown, TokenType::kControl, TokenType::kControl, TokenType::kByte,
                TokenType::kNormal};
  meta.unk_id = 0;
  meta.bos_id = 1;
  meta.eos_id = 2;
  meta.add_bos = true;
  return meta;
}

std::vector<std::string> Keys(const std::vector<KeyValue>& kvs) {
  std::vector<std::string> keys;
  for (const KeyValue& kv : kvs) keys.push_back(kv.key);
  return keys;
}

const Value& Find(const std::vector<KeyValue>& kvs, const std::string& key) {
  for (const KeyValue& kv : kvs) {
    if (kv.key == key) return kv.value;
  }
  ADD_FAILURE() << "no " << key;
  static const Value kNone;
  return kNone;
}

TEST(TokenizerMeta, SentencePieceKeyValues) {
  const std::vector<KeyValue> kvs = TokenizerKeyValues(SentencePieceLike());
  EXPECT_EQ(Keys(kvs), (std::vector<std::string>{
                           "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                           "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                           "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id",
                           "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.add_bos_token",
                           "tokenizer.ggml.add_eos_token"}));
  const Value& model = Find(kvs, "tokenizer.ggml.model");
  EXPECT_EQ(model.type, ValueType::kString);
  EXPECT_EQ(model.string, "llama");
  EXPECT_EQ(Find(kvs, "tokenizer.ggml.pre").string, "default");

  const Value& tokens = Find(kvs, "tokenizer.ggml.tokens");
  EXPECT_EQ(tokens.type, ValueType::kArray);
  EXPECT_EQ(tokens.element_type, ValueType::kString);
  EXPECT_EQ(tokens.strings, SentencePieceLike().tokens);

  const Value& scores = Find(kvs, "tokenizer.ggml.scores");
  EXPECT_EQ(scores.type, ValueType::kArray);
  EXPECT_EQ(scores.element_type, ValueType::kFloat32);
  EXPECT_EQ(scores.reals, (std::vector<double>{0, 0, 0, 0, -1.25}));

  const Value& types = Find(kvs, "tokenizer.ggml.token_type");
  EXPECT_EQ(types.type, ValueType::kArray);
  EXPECT_EQ(types.element_type, ValueType::kInt32);
  EXPECT_EQ(types.integers, (std::vector<int64_t>{2, 3, 3, 6, 1}));

  const Value& bos = Find(kvs, "tokenizer.ggml.bos_token_id");
  EXPECT_EQ(bos.type, ValueType::kUint32);
  EXPECT_EQ(bos.integer, 1);
  EXPECT_EQ(Find(kvs, "tokenizer.ggml.eos_token_id").integer, 2);
  EXPECT_EQ(Find(kvs, "tokenizer.ggml.unknown_token_id").integer, 0);
  const Value& add_bos = Find(kvs, "tokenizer.ggml.add_bos_token");
  EXPECT_EQ(add_bos.type, ValueType::kBool);
  EXPECT_EQ(add_bos.integer, 1);
  const Value& add_eos = Find(kvs, "tokenizer.ggml.add_eos_token");
  EXPECT_EQ(add_eos.type, ValueType::kBool);
  EXPECT_EQ(add_eos.integer, 0);
}

TEST(TokenizerMeta, BpeKeyValuesHaveMergesAndNoScores) {
  TokenizerMeta meta;
  meta.model = "gpt2";
  meta.pre = "default";
  meta.tokens = {"a", "b", "ab", "<|endoftext|>"};
  meta.types = {TokenType::kNormal, TokenType::kNormal, TokenType::kNormal, TokenType::kControl};
  meta.merges = {"a b"};
  meta.eos_id = 3;
  meta.pad_id = 3;
  const std::vector<KeyValue> kvs = TokenizerKeyValues(meta);
  EXPECT_EQ(Keys(kvs), (std::vector<std::string>{
                           "tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                           "tokenizer.ggml.token_type", "tokenizer.ggml.merges",
                           "tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id",
                           "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token"}));
  const Value& merges = Find(kvs, "tokenizer.ggml.merges");
  EXPECT_EQ(merges.type, ValueType::kArray);
  EXPECT_EQ(merges.element_type, ValueType::kString);
  EXPECT_EQ(merges.strings, meta.merges);
  EXPECT_EQ(Find(kvs, "tokenizer.ggml.model").string, "gpt2");
  EXPECT_EQ(Find(kvs, "tokenizer.ggml.padding_token_id").integer, 3);
}

}  // namespace
}  // namespace pq::gguf
