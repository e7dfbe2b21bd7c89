// Tests of src/exec/kernels/tf_idf_vectorizer.cc (beyond ONNX's
// conformance cases): skip-bigrams and unigrams counted per row and
// weighted (TFIDF), and a pool that must be refused naming the node.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "exec/kernel_test_util.h"

namespace pq::testing {
namespace {

onnx::NodeProto Vectorizer(const std::vector<int64_t>& ngram_counts) {
  onnx::NodeProto node = MakeNode("TfIdfVectorizer", {"x"}, {"y"});
  node.set_name("tfidf");
  SetAttr(&node, "mode", std::string("TFIDF"));
  SetAttr(&node, "min_gram_length", int64_t{1});
  SetAttr(&node, "max_gram_length", int64_t{2});
  SetAttr(&node, "max_skip_count", int64_t{1});
  SetAttr(&node, "ngram_counts", ngram_counts);
  SetAttr(&node, "ngram_indexes", std::vector<int64_t>{1, 0, 2});
  // Unigrams 4, 9; bigram (4, 9).
  SetAttr(&node, "pool_int64s", std::vector<int64_t>{4, 9, 4, 9});
  SetAttr(&node, "weights", std::vector<float>{2, 3, 0.5f});
  return node;
}

TEST(TfIdfVectorizer, CountsSkipBigramsPerRowAndWeighsThem) {
  OneNodeCase c;
  c.node = Vectorizer({0, 2});
  c.opset = 9;
  // Row 0: 4 9 4 -> unigram 4 twice, 9 once; (4, 9) adjacent once, and
  // with one skip none ((4, 4)). Row 1: 4 1 9 -> (4, 9) with one skip.
  c.inputs = {{"x", Int64s({2, 3}, {4, 9, 4, 4, 1, 9})}};
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // Columns: 0 = unigram 9 (weight 2), 1 = unigram 4 (weight 3), 2 = (4, 9).
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{2, 6, 0.5, 2, 3, 0.5}));
}

TEST(TfIdfVectorizer, RefusesAPoolThatNgramCountsDoNotSplit) {
  OneNodeCase c;
  c.node = Vectorizer({0, 3});  // leaves one token for the bigrams
  c.opset = 9;
  c.inputs = {{"x", Int64s({3}, {4, 9, 4})}};
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("tfidf"), std::string::npos);
  EXPECT_NE(out.status().message().find("ngram_counts"), std::string::npos);
}

}  // namespace
}  // namespace pq::testing
