// Tests of src/gguf/importance_collector.cc: the per-column sums of squares
// over every row of every observed run equal a plain sum, tensors that are
// not wanted are ignored, and an activation that never came or came with
// another last dim is an error naming it.
#include "gguf/importance_collector.h"

#include <gtest/gtest.h>

#include <cmath>

#include "pq/data_type.h"
#include "pq/tensor.h"

namespace pq::gguf {
namespace {

Tensor Filled(const std::vector<int64_t>& shape, float start) {
  Tensor t = Tensor::Allocate(kFloat, shape).value();
  for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = start + 0.5f * static_cast<float>(i);
  return t;
}

TEST(ImportanceCollectorTest, SumsSquaresPerColumnOverRowsAndRuns) {
  ImportanceCollector collector({{"x", 3}});
  const Tensor a = Filled({2, 2, 3}, 1.0f);  // 4 rows
  const Tensor b = Filled({1, 3}, -2.0f);    // 1 row
  collector.OnTensor("x", a);
  collector.OnTensor("x", b);
  collector.OnTensor("other", a);
  Result<std::map<std::string, ColumnEnergy>> r = collector.Results();
  ASSERT_TRUE(r.ok()) << r.status().message();
  const ColumnEnergy& e = r->at("x");
  EXPECT_EQ(e.rows, 5);
  for (int64_t c = 0; c < 3; ++c) {
    double expected = 0;
    for (int64_t row = 0; row < 4; ++row) expected += std::pow(a.data<float>()[row * 3 + c], 2.0);
    expected += std::pow(b.data<float>()[c], 2.0);
    EXPECT_DOUBLE_EQ(e.sum_squares[static_cast<size_t>(c)], expected);
    EXPECT_FLOAT_EQ(e.Importance()[static_cast<size_t>(c)], static_cast<float>(expected / 5));
  }
  EXPECT_EQ(r->count("other"), 0u);
}

TEST(ImportanceCollectorTest, MissingOrMisshapenActivationsAreErrorsNamingThem) {
  ImportanceCollector never({{"x", 3}});
  Result<std::map<std::string, ColumnEnergy>> r = never.Results();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find("'x'"), std::string::npos);

  ImportanceCollector wrong({{"x", 4}});
  wrong.OnTensor("x", Filled({2, 3}, 0.0f));
  r = wrong.Results();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("4 columns"), std::string::npos) << r.status().message();
}

TEST(ImportanceCollectorTest, NoRowsMeansUnitImportance) {
  ColumnEnergy empty;
  empty.sum_squares.assign(4, 0.0);
  EXPECT_EQ(empty.Importance(), std::vector<float>(4, 1.0f));
}

}  // namespace
}  // namespace pq::gguf
