// Direct tests of the grid that BlockwiseWeightScheme (src/quant/
// scheme_bases.cc) offers rounding algorithms: FitBlock and RoundToGrid agree
// with QuantizeWeight value for value, grid values are fixed points, and
// QuantizeWithParams writes the same bytes as QuantizeWeight when handed the
// parameters QuantizeWeight would fit, measuring its error against the
// reference it is given.
#include "quant/scheme_bases.h"

#include <gtest/gtest.h>

#include <random>

namespace pq::quant {
namespace {

struct GridCase {
  const char* scheme;
  const char* format;  // nf4_format or int4_format
};
constexpr GridCase kGridCases[] = {{"nf4", "ort"},      {"nf4", "onnx"},      {"int4-sym", "ort"},
                                   {"int4-sym", "onnx"}, {"int4-asym", "ort"}, {"int4-asym", "onnx"}};

std::unique_ptr<Scheme> Make(const GridCase& c, int64_t block = 0) {
  SchemeOptions o;
  o.nf4_format = c.format;
  o.int4_format = c.format;
  o.block_size = block;
  return std::move(MakeScheme(c.scheme, o)).value();
}

std::vector<float> Gaussian(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> w(count);
  for (float& v : w) v = dist(rng);
  return w;
}

// FitBlock for every block of the [n, k] weight, blocks following the rows.
std::vector<BlockParams> FitAll(const BlockwiseWeightScheme& grid, const std::vector<float>& w, int64_t n,
                                int64_t k) {
  const int64_t bs = grid.block_size();
  std::vector<BlockParams> params;
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t begin = 0; begin < k; begin += bs) {
      params.push_back(grid.FitBlock(w.data() + r * k + begin, std::min(bs, k - begin)));
    }
  }
  return params;
}

void ExpectSameBytes(const QuantizedWeight& a, const QuantizedWeight& b) {
  ASSERT_TRUE(a.blockwise && b.blockwise);
  EXPECT_EQ(a.blockwise->codes, b.blockwise->codes);
  EXPECT_EQ(a.blockwise->scales, b.blockwise->scales);
  EXPECT_EQ(a.blockwise->zero_points, b.blockwise->zero_points);
  EXPECT_EQ(a.params.scale, b.params.scale);
  EXPECT_EQ(a.params.zero_point, b.params.zero_point);
  EXPECT_EQ(a.error.mse, b.error.mse);
  EXPECT_EQ(a.error.max_abs, b.error.max_abs);
}

TEST(BlockwiseGridTest, FittedParamsReproduceQuantizeWeightValueForValue) {
  constexpr int64_t kN = 6, kK = 96;  // three blocks of 32 per row
  for (const GridCase& c : kGridCases) {
    SCOPED_TRACE(std::string(c.scheme) + " " + c.format);
    const std::unique_ptr<Scheme> scheme = Make(c, 32);
    const BlockwiseWeightScheme* grid = scheme->AsBlockwise();
    ASSERT_NE(grid, nullptr);
    ASSERT_TRUE(grid->BlocksFollowRows(kK));
    const std::vector<float> w = Gaussian(kN * kK, 11);
    const WeightView view{"W", w.data(), {kN, kK}, -1};
    const std::vector<BlockParams> params = FitAll(*grid, w, kN, kK);
    std::vector<float> deq;
    Result<QuantizedWeight> with = grid->QuantizeWithParams(view, w.data(), params, &deq);
    Result<QuantizedWeight> own = scheme->QuantizeWeight(view);
    ASSERT_TRUE(with.ok() && own.ok()) << with.status().ToString();
    ExpectSameBytes(with.value(), own.value());
    ASSERT_EQ(deq.size(), w.size());
    for (int64_t i = 0; i < kN * kK; ++i) {
      const BlockParams& p = params[static_cast<size_t>(i / 32)];
      ASSERT_EQ(deq[static_cast<size_t>(i)], grid->RoundToGrid(w[static_cast<size_t>(i)], p)) << i;
      // A grid value is its own nearest grid value.
      ASSERT_EQ(grid->RoundToGrid(deq[static_cast<size_t>(i)], p), deq[static_cast<size_t>(i)]) << i;
    }
  }
}

TEST(BlockwiseGridTest, GridValuesCodeToTheSameBytesWithErrorAgainstTheReference) {
  constexpr int64_t kN = 4, kK = 128;
  for (const GridCase& c : kGridCases) {
    SCOPED_TRACE(std::string(c.scheme) + " " + c.format);
    const std::unique_ptr<Scheme> scheme = Make(c);
    const BlockwiseWeightScheme& grid = *scheme->AsBlockwise();
    const std::vector<float> w = Gaussian(kN * kK, 5);
    const WeightView view{"W", w.data(), {kN, kK}, -1};
    const std::vector<BlockParams> params = FitAll(grid, w, kN, kK);
    std::vector<float> deq, deq_again;
    Result<QuantizedWeight> from_w = grid.QuantizeWithParams(view, w.data(), params, &deq);
    ASSERT_TRUE(from_w.ok());
    // Handing the grid values themselves writes the same model and measures
    // the same error, against the reference weight.
    Result<QuantizedWeight> from_grid = grid.QuantizeWithParams(view, deq.data(), params, &deq_again);
    ASSERT_TRUE(from_grid.ok());
    ExpectSameBytes(from_grid.value(), from_w.value());
    EXPECT_EQ(deq_again, deq);
    EXPECT_GT(from_grid->error.mse, 0.0);
  }
}

TEST(BlockwiseGridTest, Nf4BlocksCrossRowsWhenKIsNotAMultipleOfTheBlock) {
  const std::unique_ptr<Scheme> nf4 = Make({"nf4", "ort"}, 64);
  const BlockwiseWeightScheme& grid = *nf4->AsBlockwise();
  EXPECT_TRUE(grid.BlocksFollowRows(128));
  EXPECT_FALSE(grid.BlocksFollowRows(96));
  // [4, 96] flattened: 384 values, 6 blocks; element (1, 40) is flat 136.
  EXPECT_EQ(grid.BlockCount(4, 96), 6);
  EXPECT_EQ(grid.BlockOf(1, 40, 96), 2);
  EXPECT_EQ(grid.BlockCount(4, 128), 8);
  EXPECT_EQ(grid.BlockOf(1, 70, 128), 3);
  const std::vector<float> w = Gaussian(4 * 96, 3);
  const WeightView view{"Wodd", w.data(), {4, 96}, -1};
  const std::vector<BlockParams> params = grid.FitBlocks(w.data(), 4, 96);
  ASSERT_EQ(params.size(), 6u);
  Result<QuantizedWeight> with = grid.QuantizeWithParams(view, w.data(), params, nullptr);
  Result<QuantizedWeight> own = nf4->QuantizeWeight(view);
  ASSERT_TRUE(with.ok() && own.ok()) << with.status().ToString();
  ExpectSameBytes(with.value(), own.value());
  // A wrong number of parameters is a bug, named.
  Result<QuantizedWeight> short_params =
      grid.QuantizeWithParams(view, w.data(), std::vector<BlockParams>(5), nullptr);
  ASSERT_FALSE(short_params.ok());
  EXPECT_EQ(short_params.status().code(), Status::Code::kInternal);
  EXPECT_NE(short_params.status().message().find("Wodd"), std::string::npos) << short_params.status().message();
  // int4 blocks always follow the rows (a partial block ends each row).
  const std::unique_ptr<Scheme> int4 = Make({"int4-sym", "ort"}, 32);
  EXPECT_TRUE(int4->AsBlockwise()->BlocksFollowRows(40));
  EXPECT_EQ(int4->AsBlockwise()->BlockCount(3, 40), 6);
  EXPECT_EQ(int4->AsBlockwise()->BlockOf(2, 35, 40), 5);
  EXPECT_EQ(MakeScheme("int8-sym").value()->AsBlockwise(), nullptr);
}

TEST(BlockwiseGridTest, PartialInt4BlocksTakeTheirOwnParams) {
  constexpr int64_t kN = 3, kK = 40;
  for (const char* name : {"int4-sym", "int4-asym"}) {
    SCOPED_TRACE(name);
    const std::unique_ptr<Scheme> scheme = Make({name, "ort"}, 32);
    const BlockwiseWeightScheme& grid = *scheme->AsBlockwise();
    const std::vector<float> w = Gaussian(kN * kK, 9);
    const WeightView view{"W", w.data(), {kN, kK}, -1};
    Result<QuantizedWeight> with = grid.QuantizeWithParams(view, w.data(), FitAll(grid, w, kN, kK), nullptr);
    Result<QuantizedWeight> own = scheme->QuantizeWeight(view);
    ASSERT_TRUE(with.ok() && own.ok());
    ExpectSameBytes(with.value(), own.value());
  }
}

}  // namespace
}  // namespace pq::quant
