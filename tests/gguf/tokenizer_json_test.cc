// ParseTokenizerJson / LoadTokenizer on Hugging Face tokenizer.json files:
// small hand-written GPT-2 and Llama style tokenizers, and hostile ones.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gguf/tokenizer_meta.h"
#include "testutil/temp_dir.h"

namespace pq::gguf {
namespace {

// GPT-2 style: byte-level vocabulary, <|endoftext|> as its special token,
// a pad and a non-special added token. `merges` is the JSON of model.merges.
std::string Gpt2Json(const std::string& merges) {
  return R"({
  "version": "1.0",
  "added_tokens": [
    {"id": 12, "content": "<|endoftext|>", "single_word": false, "special": true},
    {"id": 13, "content": "<pad>", "special": true},
    {"id": 14, "content": "<user>", "special": false}
  ],
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false},
  "post_processor": {"type": "ByteLevel", "trim_offsets": true},
  "model": {
    "type": "BPE", "dropout": null, "unk_token": null,
    "vocab": {"!": 0, "a": 1, "b": 2, "c": 3, "\u0120": 4, "ab": 5, "\u0120a": 6,
              "abc": 7, "\u0120ab": 8, "l": 9, "o": 10, "lo": 11, "<|endoftext|>": 12},
    "merges": )" + merges + R"(
  }
})";
}

const std::vector<std::string> kGpt2Tokens = {"!", "a",  "b",  "c",  "\xC4\xA0", "ab", "\xC4\xA0" "a",
                                              "abc", "\xC4\xA0" "ab", "l", "o", "lo",
                                              "<|endoftext|>", "<pad>", "<user>"};
const std::vector<std::string> kGpt2Merges = {"a b", "ab c", "\xC4\xA0 a", "\xC4\xA0" "a b", "l o"};

TEST(TokenizerJson, ReadsGpt2StyleWithStringMerges) {
  auto meta = ParseTokenizerJson(
      Gpt2Json(R"(["a b", "ab c", "\u0120 a", "\u0120a b", "l o"])"), "gpt2.json");
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->model, "gpt2");
  EXPECT_EQ(meta->pre, "default");
  EXPECT_EQ(meta->tokens, kGpt2Tokens);
  EXPECT_EQ(meta->merges, kGpt2Merges);
  EXPECT_TRUE(meta->scores.empty());
  ASSERT_EQ(meta->types.size(), kGpt2Tokens.size());
  for (size_t i = 0; i < 12; ++i) EXPECT_EQ(meta->types[i], TokenType::kNormal) << i;
  EXPECT_EQ(meta->types[12], TokenType::kControl);
  EXPECT_EQ(meta->types[13], TokenType::kControl);
  EXPECT_EQ(meta->types[14], TokenType::kUserDefined);
  EXPECT_EQ(meta->bos_id, 12);  // <|endoftext|>: GPT-2's bos and eos
  EXPECT_EQ(meta->eos_id, 12);
  EXPECT_EQ(meta->pad_id, 13);
  EXPECT_EQ(meta->unk_id, -1);
  EXPECT_FALSE(meta->add_bos);
  EXPECT_FALSE(meta->add_eos);
}

TEST(TokenizerJson, PairMergesGiveTheSameMerges) {
  auto meta = ParseTokenizerJson(
      Gpt2Json(R"([["a", "b"], ["ab", "c"], ["\u0120", "a"], ["\u0120a", "b"], ["l", "o"]])"),
      "pairs.json");
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->merges, kGpt2Merges);
  EXPECT_EQ(meta->tokens, kGpt2Tokens);

  // A space inside a part becomes U+0120, as gguf-py writes it.
  auto spaced = ParseTokenizerJson(Gpt2Json(R"([[" a", "b"]])"), "spaced.json");
  ASSERT_TRUE(spaced.ok()) << spaced.status().ToString();
  EXPECT_EQ(spaced->merges, (std::vector<std::string>{"\xC4\xA0" "a b"}));
}

TEST(TokenizerJson, ReadsLlamaStyleSpecialsTemplateAndByteFallback) {
  const std::string json = R"({
  "added_tokens": [
    {"id": 0, "content": "<unk>", "special": true},
    {"id": 1, "content": "<s>", "special": true},
    {"id": 2, "content": "</s>", "special": true}
  ],
  "post_processor": {"type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
    "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
  "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>",
    "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x0A>": 3, "<0xFF>": 4, "<0x0a>": 5, "x": 6},
    "merges": []}
})";
  auto meta = ParseTokenizerJson(json, "llama.json");
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->bos_id, 1);
  EXPECT_EQ(meta->eos_id, 2);
  EXPECT_EQ(meta->unk_id, 0);
  EXPECT_EQ(meta->pad_id, -1);
  EXPECT_TRUE(meta->add_bos);
  EXPECT_FALSE(meta->add_eos);
  const std::vector<TokenType> types = {TokenType::kControl, TokenType::kControl,
                                        TokenType::kControl, TokenType::kByte,
                                        TokenType::kByte,    TokenType::kNormal,
                                        TokenType::kNormal};
  EXPECT_EQ(meta->types, types);
  EXPECT_TRUE(meta->merges.empty());
}

TEST(TokenizerJson, UnkFromModelUnkTokenWhenNotAnAddedToken) {
  const std::string json =
      R"({"model": {"type": "BPE", "unk_token": "?", "vocab": {"a": 0, "?": 1}, "merges": []}})";
  auto meta = ParseTokenizerJson(json, "unk.json");
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->unk_id, 1);
  EXPECT_EQ(meta->bos_id, -1);
}

TEST(TokenizerJson, LoadTokenizerReadsJsonByName) {
  testing::TempDir dir;
  const std::string path = dir.File("tokenizer.json");
  testing::WriteFile(path, Gpt2Json(R"(["a b"])"));
  auto meta = LoadTokenizer(path);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->model, "gpt2");
  EXPECT_EQ(meta->source_path, path);
  EXPECT_EQ(meta->source_sha256.size(), 64u);
}

TEST(TokenizerJson, RefusesHostileFiles) {
  const std::string merges = R"("merges": [])";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {"{\"model\": ", "not valid JSON"},
      {"[1, 2, 3]", "not a JSON object"},
      {"\"tokenizer\"", "not a JSON object"},
      {"{}", "no \"model\" object"},
      {R"({"model": []})", "no \"model\" object"},
      {R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})",
       "model.type is \"WordPiece\", expected \"BPE\""},
      {R"({"model": {"vocab": {"a": 0}}})", "model.type is missing"},
      {R"({"model": {"type": "BPE", "vocab": ["a"]}})", "model.vocab is missing or not an object"},
      {R"({"model": {"type": "BPE", "vocab": {}}})", "no tokens"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 2}}})",
       "not 0..1 without gaps: id 1 is missing (\"b\" has id 2)"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 1, "b": 2}}})", "id 0 is missing"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}}})",
       "id 0 given to both \"a\" and \"b\""},
      {R"({"model": {"type": "BPE", "vocab": {"a": -1}}})", "not an integer in 0..2147483647"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 1.5}}})", "not an integer"},
      {R"({"model": {"type": "BPE", "vocab": {"a": "0"}}})", "not an integer"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 4294967296}}})", "not an integer"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "added_tokens": [{"id": 0, "content": "<s>"}]})",
       "added_tokens[0]: id 0 given to both"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "added_tokens": [{"id": 1}]})",
       "added_tokens[0] is not an object"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}}, "added_tokens": {}})",
       "added_tokens is not an array"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["ab"]}})",
       "model.merges[0] \"ab\" is not two tokens and one space"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b c"]}})",
       "not two tokens"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a"]]}})",
       "neither \"a b\" nor"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": [["a", 1]]}})",
       "neither"},
      {R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": "a b"}})",
       "model.merges is not an array"},
      {R"({"model": {"type": "BPE", "vocab": {"a\nb": 0, "c": 0}}})",
       "given to both \"a\\nb\" and \"c\""},
  };
  for (const auto& [json, fragment] : cases) {
    auto meta = ParseTokenizerJson(json, "bad.json");
    ASSERT_FALSE(meta.ok()) << json;
    EXPECT_EQ(meta.status().code(), Status::Code::kInvalidInput) << json;
    EXPECT_EQ(meta.status().message().rfind("bad.json: tokenizer.json: ", 0), 0u)
        << meta.status().message();
    EXPECT_NE(meta.status().message().find(fragment), std::string::npos)
        << meta.status().message();
    EXPECT_EQ(meta.status().message().find('\n'), std::string::npos) << meta.status().message();
  }
}

TEST(TokenizerJson, LoadTokenizerNamesTheFileInErrors) {
  testing::TempDir dir;
  const std::string path = dir.File("tokenizer.json");
  testing::WriteFile(path, R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})");
  auto meta = LoadTokenizer(path);
  ASSERT_FALSE(meta.ok());
  EXPECT_EQ(meta.status().code(), Status::Code::kInvalidInput);
  EXPECT_EQ(meta.status().message().rfind(path + ": ", 0), 0u) << meta.status().message();
}

}  // namespace
}  // namespace pq::gguf
