// ParseSentencePieceModel / LoadTokenizer on SentencePiece models: the sample
// tiny_llm tokenizer against what sentencepiece's own tools export, small
// hand-encoded models, and hostile bytes.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "gguf/tokenizer_meta.h"
#include "testutil/temp_dir.h"
#include "util/sha256.h"

namespace pq::gguf {
namespace {

// The sample model, as models/tiny_llm/README.md describes it.
constexpr size_t kTinyLlmPieces = 1536;
constexpr size_t kTinyLlmBytePieces = 256;
// spm_export_vocab prints scores with 6 significant digits.
constexpr float kExportedScoreRelTol = 1e-5f;
constexpr char kSpmExportVocab[] = "/usr/bin/spm_export_vocab";

std::string TinyLlmTokenizer() { return testing::ModelsDir() + "/tiny_llm/tokenizer.model"; }

// Protobuf wire encoding, for hand-made models.
std::string Varint(uint64_t v) {
  std::string s;
  do {
    s.push_back(static_cast<char>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)));
    v >>= 7;
  } while (v != 0);
  return s;
}
std::string VarintField(uint32_t number, int64_t v) {
  return Varint(number << 3) + Varint(static_cast<uint64_t>(v));
}
std::string BytesField(uint32_t number, const std::string& bytes) {
  return Varint(number << 3 | 2) + Varint(bytes.size()) + bytes;
}
std::string FloatField(uint32_t number, float f) {
  uint32_t bits = 0;
  std::memcpy(&bits, &f, sizeof(bits));
  std::string s = Varint(number << 3 | 5);
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(bits >> (8 * i)));
  return s;
}
std::string Piece(const std::string& piece, float score, int type) {
  return BytesField(1, BytesField(1, piece) + FloatField(2, score) + VarintField(3, type));
}
// <unk> <s> </s> "a" "b"; `trainer` is the TrainerSpec's fields.
std::string SmallModel(const std::string& trainer) {
  return Piece("<unk>", 0, 2) + Piece("<s>", 0, 3) + Piece("</s>", 0, 3) + Piece("a", -1.5f, 1) +
         Piece("b", -2.5f, 1) + BytesField(2, trainer);
}

TEST(TokenizerSentencePiece, ReadsTheSampleModel) {
  auto meta = LoadTokenizer(TinyLlmTokenizer());
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->model, "llama");
  EXPECT_EQ(meta->pre, "default");
  ASSERT_EQ(meta->tokens.size(), kTinyLlmPieces);
  ASSERT_EQ(meta->scores.size(), kTinyLlmPieces);
  ASSERT_EQ(meta->types.size(), kTinyLlmPieces);
  EXPECT_EQ(meta->unk_id, 0);
  EXPECT_EQ(meta->bos_id, 1);
  EXPECT_EQ(meta->eos_id, 2);
  EXPECT_EQ(meta->pad_id, 3);
  EXPECT_TRUE(meta->add_bos);
  EXPECT_FALSE(meta->add_eos);
  EXPECT_TRUE(meta->merges.empty());

  // Known pieces by index (spm_export_vocab, sentencepiece 0.1.99).
  const std::map<size_t, std::pair<std::string, TokenType>> known = {
      {0, {"<unk>", TokenType::kUnknown}},   {1, {"<s>", TokenType::kControl}},
      {2, {"</s>", TokenType::kControl}},    {3, {"<pad>", TokenType::kControl}},
      {4, {"<0x00>", TokenType::kByte}},     {4 + 0x41, {"<0x41>", TokenType::kByte}},
      {259, {"<0xFF>", TokenType::kByte}},   {261, {"\xE2\x96\x81t", TokenType::kNormal}},
      {263, {"he", TokenType::kNormal}},     {1000, {"ually", TokenType::kNormal}},
      {1535, {"%", TokenType::kNormal}},
  };
  for (const auto& [index, piece] : known) {
    EXPECT_EQ(meta->tokens[index], piece.first) << index;
    EXPECT_EQ(meta->types[index], piece.second) << index;
  }
  EXPECT_EQ(meta->scores[263], -3.0f);
  EXPECT_EQ(meta->scores[1000], -740.0f);
  EXPECT_EQ(meta->scores[1535], -1275.0f);

  std::map<TokenType, size_t> counts;
  for (TokenType t : meta->types) ++counts[t];
  EXPECT_EQ(counts[TokenType::kUnknown], 1u);
  EXPECT_EQ(counts[TokenType::kControl], 3u);
  EXPECT_EQ(counts[TokenType::kByte], kTinyLlmBytePieces);
  EXPECT_EQ(counts[TokenType::kNormal], kTinyLlmPieces - 4 - kTinyLlmBytePieces);
  EXPECT_EQ(counts[TokenType::kUserDefined], 0u);
}

// Every piece and score against Debian's sentencepiece tools, when installed
// (package sentencepiece, among the test packages of tools/lib/common.sh).
TEST(TokenizerSentencePiece, MatchesSpmExportVocab) {
  FILE* probe = std::fopen(kSpmExportVocab, "r");
  if (probe == nullptr) GTEST_SKIP() << kSpmExportVocab << " not installed";
  std::fclose(probe);
  testing::TempDir dir;
  const std::string out = dir.File("vocab.tsv");
  const std::string command = std::string(kSpmExportVocab) + " --model=" + TinyLlmTokenizer() +
                              " --output_format=vocab --output=" + out + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::string text = testing::ReadFile(out);

  auto meta = LoadTokenizer(TinyLlmTokenizer());
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  size_t index = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(start, end - start);
    start = end + 1;
    const size_t tab = line.rfind('\t');
    ASSERT_NE(tab, std::string::npos) << line;
    ASSERT_LT(index, meta->tokens.size());
    EXPECT_EQ(meta->tokens[index], line.substr(0, tab)) << index;
    const float score = std::strtof(line.c_str() + tab + 1, nullptr);
    EXPECT_NEAR(meta->scores[index], score, kExportedScoreRelTol * (1 + std::abs(score))) << index;
    ++index;
  }
  EXPECT_EQ(index, meta->tokens.size());
}

TEST(TokenizerSentencePiece, RecordsTheFileAndItsHash) {
  auto meta = LoadTokenizer(TinyLlmTokenizer());
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->source_path, TinyLlmTokenizer());
  auto sha = Sha256File(TinyLlmTokenizer());
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(meta->source_sha256, sha.value());
}

TEST(TokenizerSentencePiece, ReadsHandMadeModelsAndSkipsUnknownFields) {
  // Trainer spec: BPE, pad 4, bos/eos disabled (-1 as a 10-byte varint),
  // plus unknown fields of every wire type.
  const std::string trainer = VarintField(3, 2) + VarintField(43, 4) + VarintField(41, -1) +
                              VarintField(42, -1) + BytesField(99, "x") + FloatField(98, 1) +
                              Varint(97 << 3 | 1) + std::string(8, '\0') +
                              Varint(96 << 3 | 3) + VarintField(1, 1) + Varint(96 << 3 | 4);
  const std::string bytes = BytesField(3, "normalizer") + SmallModel(trainer) + VarintField(7, 1);
  auto meta = ParseSentencePieceModel(bytes, "hand.model");
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->tokens, (std::vector<std::string>{"<unk>", "<s>", "</s>", "a", "b"}));
  EXPECT_EQ(meta->scores, (std::vector<float>{0, 0, 0, -1.5f, -2.5f}));
  EXPECT_EQ(meta->types[0], TokenType::kUnknown);
  EXPECT_EQ(meta->types[3], TokenType::kNormal);
  EXPECT_EQ(meta->unk_id, 0);
  EXPECT_EQ(meta->bos_id, -1);
  EXPECT_EQ(meta->eos_id, -1);
  EXPECT_EQ(meta->pad_id, 4);

  // An empty trainer spec: UNIGRAM, the proto's default ids.
  auto defaults = ParseSentencePieceModel(SmallModel(""), "defaults.model");
  ASSERT_TRUE(defaults.ok()) << defaults.status().ToString();
  EXPECT_EQ(defaults->unk_id, 0);
  EXPECT_EQ(defaults->bos_id, 1);
  EXPECT_EQ(defaults->eos_id, 2);
  EXPECT_EQ(defaults->pad_id, -1);
}

TEST(TokenizerSentencePiece, RefusesWordAndCharModels) {
  auto word = ParseSentencePieceModel(SmallModel(VarintField(3, 3)), "word.model");
  EXPECT_EQ(word.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(word.status().message().find("word.model"), std::string::npos);
}

void ExpectInvalid(const Result<TokenizerMeta>& r, const std::string& origin,
                   const std::string& fragment) {
  ASSERT_FALSE(r.ok()) << fragment;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput) << r.status().ToString();
  EXPECT_EQ(r.status().message().rfind(origin + ": ", 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos) << r.status().message();
}

TEST(TokenizerSentencePiece, RefusesMalformedModels) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "no pieces"},
      {BytesField(2, VarintField(3, 2)), "no pieces"},
      {Piece("a", 0, 1), "no trainer_spec"},
      {SmallModel(VarintField(3, 9)), "model_type 9"},
      {SmallModel(VarintField(41, 5)), "bos_id 5"},
      {SmallModel(VarintField(40, -2)), "unk_id -2"},
      {Piece("a", 0, 7) + BytesField(2, ""), "piece 0: type 7"},
      {Piece("a", 0, 0) + BytesField(2, ""), "piece 0: type 0"},
      {BytesField(1, VarintField(1, 5)) + BytesField(2, ""), "piece 0: piece (field 1) is varint"},
      {VarintField(1, 5), "pieces (field 1) is varint"},
      {SmallModel(BytesField(41, "1")), "bos_id (field 41) is length-delimited"},
      // A length field beyond the buffer.
      {Varint(1 << 3 | 2) + Varint(1000) + "abc", "length 1000 beyond"},
      {Piece("a", 0, 1) + Varint(2 << 3 | 2) + Varint(uint64_t{1} << 62), "beyond"},
  };
  for (const auto& [bytes, fragment] : cases) {
    ExpectInvalid(ParseSentencePieceModel(bytes, "bad.model"), "bad.model", fragment);
  }
}

// Every cut of the sample model either is refused, or falls on a boundary
// after the trainer spec (a shorter, still complete ModelProto).
TEST(TokenizerSentencePiece, RefusesTruncatedSampleModel) {
  const std::string bytes = testing::ReadFile(TinyLlmTokenizer());
  ASSERT_GT(bytes.size(), 1000u);
  std::vector<size_t> cuts;
  for (size_t cut = 0; cut < bytes.size(); cut += 13) cuts.push_back(cut);
  for (size_t cut = bytes.size() - 400; cut < bytes.size(); ++cut) cuts.push_back(cut);
  int accepted = 0;
  for (size_t cut : cuts) {
    auto meta = ParseSentencePieceModel(bytes.substr(0, cut), "cut.model");
    if (meta.ok()) {
      ++accepted;
      EXPECT_EQ(meta->tokens.size(), kTinyLlmPieces) << "cut at " << cut;
      continue;
    }
    EXPECT_EQ(meta.status().code(), Status::Code::kInvalidInput) << cut;
    EXPECT_EQ(meta.status().message().rfind("cut.model: ", 0), 0u) << meta.status().message();
  }
  EXPECT_LE(accepted, 2);  // at most the boundaries around the normalizer spec

  // Through LoadTokenizer, the message names the file.
  testing::TempDir dir;
  const std::string path = dir.File("truncated.model");
  testing::WriteFile(path, bytes.substr(0, bytes.size() / 2));
  ExpectInvalid(LoadTokenizer(path), path, "SentencePiece model");
}

TEST(TokenizerSentencePiece, RefusesRandomBytes) {
  std::mt19937 rng(18);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes(1 + trial * 7, '\0');
    for (char& c : bytes) c = static_cast<char>(byte(rng));
    ExpectInvalid(ParseSentencePieceModel(bytes, "random.model"), "random.model", "");
  }
}

TEST(TokenizerSentencePiece, RefusesMissingFileAndFolder) {
  ExpectInvalid(LoadTokenizer("/nonexistent/tokenizer.model"), "/nonexistent/tokenizer.model",
                "not a regular file");
  testing::TempDir dir;
  ExpectInvalid(LoadTokenizer(dir.path()), dir.path(), "not a regular file");
}

}  // namespace
}  // namespace pq::gguf
