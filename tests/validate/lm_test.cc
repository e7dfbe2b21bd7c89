// Token data for decoder models (src/data/token_source.cc, language_model.cc)
// and the language-model metrics of Compare (src/validate/lm_metrics.cc),
// checked against values computed here from the bigram table by hand.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "pq/dataset.h"
#include "pq/executor.h"
#include "pq/language_model.h"
#include "pq/validate.h"
#include "testutil/model_builder.h"
#include "testutil/temp_dir.h"
#include "validate/lm_test_util.h"
#include "validate/validate_test_util.h"

namespace pq {
namespace {

using testing::kLmVocab;
using testing::TempDir;

std::unique_ptr<Model> Save(const onnx::ModelProto& proto, const TempDir& dir, const std::string& name) {
  testing::SaveProto(proto, dir.File(name));
  Result<std::unique_ptr<Model>> m = Model::Load(dir.File(name));
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

// Rows of `length` fixed-seed token ids below kLmVocab.
std::vector<int64_t> Tokens(int64_t rows, int64_t length) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < rows * length; ++i) ids.push_back((i * 5 + i / 3) % kLmVocab);
  return ids;
}

Result<std::unique_ptr<Dataset>> OpenTokens(const Model& model, const std::string& path,
                                            int64_t context = 0) {
  DatasetOptions options;
  options.outputs = Executor::GraphOutputs(model);
  options.tokens.context = context;
  return Dataset::Open({path}, Executor::GraphInputs(model), options);
}

// log softmax(row)[v].
double LogProb(const std::vector<float>& table, int64_t row, int64_t v) {
  double max = -1e300, sum = 0;
  for (int64_t k = 0; k < kLmVocab; ++k) max = std::max(max, static_cast<double>(table[row * kLmVocab + k]));
  for (int64_t k = 0; k < kLmVocab; ++k) sum += std::exp(table[row * kLmVocab + k] - max);
  return table[row * kLmVocab + v] - max - std::log(sum);
}

struct Expected {
  double ppl_ref = 0, ppl_cand = 0, kld_mean = 0, kld_max = 0;
  int64_t positions = 0;
};

Expected ByHand(const std::vector<float>& ref, const std::vector<float>& cand,
                const std::vector<int64_t>& ids, int64_t rows, int64_t length) {
  Expected e;
  double nll_r = 0, nll_c = 0, kld = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t t = 0; t + 1 < length; ++t) {
      const int64_t cur = ids[r * length + t], next = ids[r * length + t + 1];
      nll_r -= LogProb(ref, cur, next);
      nll_c -= LogProb(cand, cur, next);
      double k = 0;
      for (int64_t v = 0; v < kLmVocab; ++v) {
        k += std::exp(LogProb(ref, cur, v)) * (LogProb(ref, cur, v) - LogProb(cand, cur, v));
      }
      kld += k;
      e.kld_max = std::max(e.kld_max, k);
      ++e.positions;
    }
  }
  e.ppl_ref = std::exp(nll_r / e.positions);
  e.ppl_cand = std::exp(nll_c / e.positions);
  e.kld_mean = kld / e.positions;
  return e;
}

TEST(TokenDataTest, BuildsMaskPositionsAndEmptyPastForEachRow) {
  TempDir dir;
  const auto model = Save(testing::BigramDecoder(testing::BigramTable(1)), dir, "lm.onnx");
  const std::vector<int64_t> ids = Tokens(3, 5);
  testing::WriteInt64Npy(dir.File("tokens.npy"), {3, 5}, ids);
  auto data = OpenTokens(*model, dir.File("tokens.npy"));
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(data.value()->num_samples(), 3);
  auto feeds = data.value()->Batch(1, 2);
  ASSERT_TRUE(feeds.ok()) << feeds.status().ToString();
  const Tensor& input_ids = feeds->at("input_ids");
  ASSERT_EQ(input_ids.shape(), (std::vector<int64_t>{2, 5}));
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(input_ids.data<int64_t>()[i], ids[5 + i]);
  const Tensor& mask = feeds->at("attention_mask");
  ASSERT_EQ(mask.shape(), (std::vector<int64_t>{2, 5}));
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(mask.data<int64_t>()[i], 1);
  const Tensor& positions = feeds->at("position_ids");
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(positions.data<int64_t>()[i], i % 5);
  const Tensor& past = feeds->at("past_key_values.0.key");
  EXPECT_EQ(past.shape(), (std::vector<int64_t>{2, testing::kLmKvHeads, 0, testing::kLmHeadDim}));
  EXPECT_EQ(past.dtype(), kFloat);
}

TEST(TokenDataTest, ContextCutsRowsIntoWindowsAndDropsTheTail) {
  TempDir dir;
  const auto model = Save(testing::BigramDecoder(testing::BigramTable(1)), dir, "lm.onnx");
  const std::vector<int64_t> ids = Tokens(2, 10);
  testing::WriteInt64Npy(dir.File("tokens.npy"), {2, 10}, ids);
  auto data = OpenTokens(*model, dir.File("tokens.npy"), 4);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  ASSERT_EQ(data.value()->num_samples(), 4);  // 2 windows of 4 per row; 2 tokens each dropped
  auto feeds = data.value()->Batch(2, 1);     // row 1, window 0
  ASSERT_TRUE(feeds.ok());
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(feeds->at("input_ids").data<int64_t>()[i], ids[10 + i]);
}

TEST(TokenDataTest, TokenOutsideTheVocabularyNamesFileRowAndPosition) {
  TempDir dir;
  const auto model = Save(testing::BigramDecoder(testing::BigramTable(1)), dir, "lm.onnx");
  std::vector<int64_t> ids = Tokens(2, 6);
  ids[6 + 3] = kLmVocab;
  testing::WriteInt64Npy(dir.File("tokens.npy"), {2, 6}, ids);
  auto data = OpenTokens(*model, dir.File("tokens.npy"));
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), Status::Code::kInvalidInput);
  const std::string message = data.status().ToString();
  EXPECT_NE(message.find("tokens.npy: row 1, position 3: token id 8 is not below the vocabulary size 8"),
            std::string::npos)
      << message;
  ids[6 + 3] = -1;
  testing::WriteInt64Npy(dir.File("negative.npy"), {2, 6}, ids);
  auto negative = OpenTokens(*model, dir.File("negative.npy"));
  ASSERT_FALSE(negative.ok());
  EXPECT_NE(negative.status().ToString().find("row 1, position 3: token id -1 is negative"), std::string::npos);
}

TEST(TokenDataTest, RowsOfOneTokenAndFloatArraysAreRefused) {
  TempDir dir;
  const auto model = Save(testing::BigramDecoder(testing::BigramTable(1)), dir, "lm.onnx");
  testing::WriteInt64Npy(dir.File("short.npy"), {3, 1}, {1, 2, 3});
  auto short_rows = OpenTokens(*model, dir.File("short.npy"));
  ASSERT_FALSE(short_rows.ok());
  EXPECT_NE(short_rows.status().ToString().find("at least 2 tokens per row"), std::string::npos);
  testing::WriteFloatNpy(dir.File("float.npy"), {2, 3}, {1, 2, 3, 4, 5, 6});
  auto floats = OpenTokens(*model, dir.File("float.npy"));
  ASSERT_FALSE(floats.ok());
  EXPECT_NE(floats.status().ToString().find("token ids must be int32 or int64, not float"),
            std::string::npos)
      << floats.status().ToString();
}

TEST(TokenDataTest, InputsPqCannotBuildAreNamed) {
  TempDir dir;
  onnx::ModelProto proto = testing::BigramDecoder(testing::BigramTable(1));
  *proto.mutable_graph()->add_input() = testing::FloatValueInfo("pixel_values", {1, 3});
  const auto model = Save(proto, dir, "lm.onnx");
  testing::WriteInt64Npy(dir.File("tokens.npy"), {2, 4}, Tokens(2, 4));
  auto data = OpenTokens(*model, dir.File("tokens.npy"));
  ASSERT_FALSE(data.ok());
  EXPECT_NE(data.status().ToString().find("token ids cannot feed input 'pixel_values'"), std::string::npos)
      << data.status().ToString();
}

TEST(LmCompareTest, IdenticalModelsGiveZeroKldAndTheHandComputedPerplexity) {
  TempDir dir;
  const std::vector<float> table = testing::BigramTable(3);
  const auto ref = Save(testing::BigramDecoder(table), dir, "ref.onnx");
  const auto cand = Save(testing::BigramDecoder(table), dir, "cand.onnx");
  const std::vector<int64_t> ids = Tokens(4, 7);
  testing::WriteInt64Npy(dir.File("tokens.npy"), {4, 7}, ids);
  ValidationData data;
  data.paths = {dir.File("tokens.npy")};
  data.batch = 3;  // batches of 3 and 1 rows
  auto c = Compare(*ref, *cand, data);  // task auto picks lm
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->lm.has_value());
  const Expected e = ByHand(table, table, ids, 4, 7);
  EXPECT_EQ(c->lm->positions, 24);
  EXPECT_NEAR(c->lm->perplexity_ref, e.ppl_ref, 1e-9 * e.ppl_ref);
  EXPECT_EQ(c->lm->perplexity_cand, c->lm->perplexity_ref);
  EXPECT_EQ(c->lm->kld_mean, 0.0);
  EXPECT_EQ(c->lm->kld_max, 0.0);
  EXPECT_EQ(c->lm->top1_agreement, 1.0);
  Gates gates;
  gates.max_kld = 0.0;
  gates.max_ppl_increase_percent = 0.0;
  gates.min_top1_agreement = 1.0;
  auto results = EvaluateGates(c.value(), gates);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(results->size(), 3u);
  EXPECT_TRUE(AllGatesPassed(results.value()));
}

TEST(LmCompareTest, APlantedBadRowGivesTheHandComputedKldAndFailsTheGate) {
  TempDir dir;
  const std::vector<float> table = testing::BigramTable(3);
  std::vector<float> bad = table;
  for (int64_t v = 0; v < kLmVocab; ++v) bad[2 * kLmVocab + v] = v == 5 ? 9.0f : -3.0f;  // token 2's row
  const auto ref = Save(testing::BigramDecoder(table), dir, "ref.onnx");
  const auto cand = Save(testing::BigramDecoder(bad), dir, "cand.onnx");
  const std::vector<int64_t> ids = Tokens(4, 7);
  testing::WriteInt64Npy(dir.File("tokens.npy"), {4, 7}, ids);
  ValidationData data;
  data.paths = {dir.File("tokens.npy")};
  data.task = TaskKind::kLm;
  auto c = Compare(*ref, *cand, data);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->lm.has_value());
  const Expected e = ByHand(table, bad, ids, 4, 7);
  EXPECT_NEAR(c->lm->perplexity_cand, e.ppl_cand, 1e-9 * e.ppl_cand);
  EXPECT_NEAR(c->lm->kld_mean, e.kld_mean, 1e-9);
  EXPECT_NEAR(c->lm->kld_max, e.kld_max, 1e-9);
  EXPECT_GT(c->lm->kld_mean, 0.1);
  EXPECT_EQ(c->lm->kld_median, 0.0);  // most positions do not read token 2
  EXPECT_LT(c->lm->top1_agreement, 1.0);
  Gates gates;
  gates.max_kld = 0.01;
  auto results = EvaluateGates(c.value(), gates);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_FALSE(results->at(0).passed);
  EXPECT_EQ(results->at(0).gate, "max-kld");
  EXPECT_EQ(results->at(0).output, "logits");
  const auto json = ComparisonToJson(c.value());
  EXPECT_EQ(json["lm"]["positions"], 24);
  EXPECT_DOUBLE_EQ(json["lm"]["kld_mean"].get<double>(), c->lm->kld_mean);
}

TEST(LmCompareTest, TaskLmOnAModelWithoutTokensSaysWhatIsMissing) {
  TempDir dir;
  const auto model = Save(testing::ThreeClassModel({1, 0, 0, 0, 1, 0, 0, 0, 1}), dir, "m.onnx");
  testing::WriteFloatNpy(dir.File("x.npy"), {2, 3}, {1, 0, 0, 0, 1, 0});
  ValidationData data;
  data.paths = {dir.File("x.npy")};
  data.task = TaskKind::kLm;
  auto c = Compare(*model, *model, data);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(c.status().ToString().find("no int32/int64 input 'input_ids'"), std::string::npos)
      << c.status().ToString();
  EXPECT_NE(c.status().ToString().find("no output 'logits'"), std::string::npos);
  // Language-model gates on a comparison without language-model metrics.
  data.task = TaskKind::kAuto;
  auto plain = Compare(*model, *model, data);
  ASSERT_TRUE(plain.ok());
  Gates gates;
  gates.max_kld = 1;
  EXPECT_FALSE(EvaluateGates(plain.value(), gates).ok());
}

}  // namespace
}  // namespace pq

namespace pq {
namespace {

// A text classifier (input_ids, attention_mask -> logits [batch, classes])
// is not a language model: its class logits give no vocabulary to check ids
// against, and task auto keeps classification metrics.
TEST(TokenDataTest, AClassifiersLogitsAreNotNextTokenLogits) {
  TensorInfo ids{"input_ids", kInt64, true, {-1, -1}, {"batch", "sequence"}};
  TensorInfo mask{"attention_mask", kInt64, true, {-1, -1}, {"batch", "sequence"}};
  TensorInfo classes{"logits", kFloat, true, {-1, 2}, {"batch", ""}};
  const std::optional<DecoderLayout> layout = RecognizeDecoder({ids, mask}, {classes});
  ASSERT_TRUE(layout.has_value());
  EXPECT_TRUE(layout->logits_output.empty());
  EXPECT_EQ(layout->vocab_size, 0);
  EXPECT_NE(MissingForLanguageModel({ids, mask}, {classes}).find("no output 'logits'"), std::string::npos);
  TensorInfo next_token{"logits", kFloat, true, {-1, -1, 50}, {"batch", "sequence", ""}};
  EXPECT_EQ(RecognizeDecoder({ids, mask}, {next_token})->vocab_size, 50);
}

// A BERT-style encoder (input_ids, attention_mask, token_type_ids ->
// last_hidden_state [batch, sequence, hidden], pooler_output) is not a
// language model either: its hidden states are not next-token logits, so
// task auto keeps the plain comparison (it used to check the ids against the
// hidden size and exit 3, models/export_corpus/bert_*). A decoder whose only
// rank-3 output has another name still gives its logits.
TEST(TokenDataTest, AnEncodersHiddenStatesAreNotNextTokenLogits) {
  TensorInfo ids{"input_ids", kInt64, true, {-1, -1}, {"batch", "sequence"}};
  TensorInfo mask{"attention_mask", kInt64, true, {-1, -1}, {"batch", "sequence"}};
  TensorInfo hidden{"last_hidden_state", kFloat, true, {-1, -1, 32}, {"batch", "sequence", ""}};
  TensorInfo pooled{"pooler_output", kFloat, true, {-1, 32}, {"batch", ""}};
  const std::optional<DecoderLayout> layout = RecognizeDecoder({ids, mask}, {hidden, pooled});
  ASSERT_TRUE(layout.has_value());
  EXPECT_TRUE(layout->logits_output.empty());
  EXPECT_NE(MissingForLanguageModel({ids, mask}, {hidden}).find("no output 'logits'"), std::string::npos);
  TensorInfo scores{"scores", kFloat, true, {-1, -1, 50}, {"batch", "sequence", ""}};
  EXPECT_EQ(RecognizeDecoder({ids, mask}, {scores})->logits_output, "scores");
}

}  // namespace
}  // namespace pq
