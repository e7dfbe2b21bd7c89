// Tests of src/exec/kernels/gather_block_quantized.cc: com.microsoft
// GatherBlockQuantized on packed uint8 (bits 2, 4, 8) and int4/uint4 tables,
// with hand-computed values, a naive dequantize-then-gather reference, the
// default zero points (2^(bits-1) for uint8, 0 for 4-bit types, told apart
// by the declared type) and refused inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"
#include "quant/proto_build.h"

namespace pq {
namespace {

using testing::Floats;
using testing::Int64s;
using testing::MakeNode;
using testing::MakeTensor;
using testing::OneNodeCase;
using testing::RunOneNode;
using testing::SetAttr;
using testing::Values;

constexpr double kTolerance = 1e-6;

// Packs codes [rows, cols] along the last axis, low bits first, each row
// starting on a byte.
std::vector<int> PackRows(const std::vector<int>& codes, int64_t rows, int64_t cols, int64_t bits) {
  const int64_t per = 8 / bits, row_bytes = (cols + per - 1) / per;
  std::vector<int> out(static_cast<size_t>(rows * row_bytes), 0);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      out[r * row_bytes + c / per] |= codes[r * cols + c] << ((c % per) * bits);
    }
  }
  return out;
}

// A deterministic code table of `count` values in [lo, lo + span).
std::vector<int> Codes(int64_t count, int lo, int span, int salt) {
  std::vector<int> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i)
    out[i] = lo + static_cast<int>((i * 7 + salt * 3 + i / 5) % span);
  return out;
}

std::vector<float> Scales(int64_t count) {
  std::vector<float> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out[i] = 0.01f + 0.003f * static_cast<float>(i % 11);
  return out;
}

// Naive reference for data [V, D] quantized along axis 1 in blocks, gathered
// along axis 0 by `rows`.
std::vector<double> GatherRows(const std::vector<int>& codes, const std::vector<int>& zero,
                               const std::vector<float>& scales, int64_t d, int64_t block,
                               const std::vector<int64_t>& rows) {
  const int64_t blocks = (d + block - 1) / block;
  std::vector<double> out;
  for (int64_t r : rows) {
    for (int64_t c = 0; c < d; ++c) {
      const int64_t s = r * blocks + c / block;
      out.push_back((codes[r * d + c] - zero[s]) * static_cast<double>(scales[s]));
    }
  }
  return out;
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], kTolerance) << "element " << i;
}

OneNodeCase Case(Tensor data, Tensor indices, Tensor scales, const Tensor* zero_points) {
  OneNodeCase c;
  std::vector<std::string> ins = {"data", "idx", "scales"};
  if (zero_points != nullptr) ins.push_back("zp");
  c.node = MakeNode("GatherBlockQuantized", ins, {"y"}, "com.microsoft");
  c.inputs = {{"idx", std::move(indices)}};
  c.constants = {{"data", std::move(data)}, {"scales", std::move(scales)}};
  if (zero_points != nullptr) c.constants["zp"] = *zero_points;
  return c;
}

TEST(GatherBlockQuantizedTest, PackedFourBitRowByHand) {
  // Row 1 of a [2, 16] table packed in [2, 8] bytes: byte 0x21 holds codes
  // 1 (low nibble) then 2; default zero point 8, scale 0.5.
  std::vector<int> bytes(16, 0x88);
  bytes[8] = 0x21;
  OneNodeCase c = Case(MakeTensor<int>(kUint8, {2, 8}, bytes), Int64s({1}, {1}),
                       Floats({2, 1}, {1.0f, 0.5f}), nullptr);
  SetAttr(&c.node, "block_size", int64_t{16});
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{1, 16}));
  const std::vector<double> y = Values((*out)[0]);
  EXPECT_NEAR(y[0], (1 - 8) * 0.5, kTolerance);
  EXPECT_NEAR(y[1], (2 - 8) * 0.5, kTolerance);
  EXPECT_NEAR(y[2], 0.0, kTolerance);
}

TEST(GatherBlockQuantizedTest, PackedUint8MatchesReferenceForEveryBitWidth) {
  const int64_t v = 5, d = 40, block = 16, blocks = 3;
  const std::vector<int64_t> rows = {4, 0, 2, 2, 1, 3};
  for (int64_t bits : {2, 4, 8}) {
    const int span = 1 << bits;
    const std::vector<int> codes = Codes(v * d, 0, span, static_cast<int>(bits));
    const std::vector<int> zero = Codes(v * blocks, 0, span, 5);
    const std::vector<float> scales = Scales(v * blocks);
    const Tensor packed = MakeTensor<int>(kUint8, {v, d * bits / 8}, PackRows(codes, v, d, bits));
    const Tensor zp =
        MakeTensor<int>(kUint8, {v, (blocks * bits + 7) / 8}, PackRows(zero, v, blocks, bits));
    for (bool with_zp : {true, false}) {
      OneNodeCase c = Case(packed, Int64s({2, 3}, {4, 0, -3, 2, 1, -2}),
                           MakeTensor<float>(kFloat, {v, blocks}, scales), with_zp ? &zp : nullptr);
      SetAttr(&c.node, "bits", bits);
      SetAttr(&c.node, "block_size", block);
      auto out = RunOneNode(c);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{2, 3, d}));
      const std::vector<int> z = with_zp ? zero : std::vector<int>(zero.size(), span / 2);
      ExpectNear(Values((*out)[0]), GatherRows(codes, z, scales, d, block, rows));
    }
  }
}

// A packed int4/uint4 initializer of `codes` (the flat ONNX packing).
onnx::TensorProto FourBit(const std::string& name, int32_t dtype, std::vector<int64_t> dims,
                          const std::vector<int>& codes) {
  std::string raw((codes.size() + 1) / 2, '\0');
  for (size_t i = 0; i < codes.size(); ++i) {
    raw[i / 2] = static_cast<char>(raw[i / 2] | ((codes[i] & 0x0F) << (4 * (i % 2))));
  }
  return quant::Initializer(name, dtype, std::move(dims), raw);
}

TEST(GatherBlockQuantizedTest, FourBitTypesDefaultToZeroAndGatherAnyAxis) {
  // data [V=3, D=20] uint4, quantized along axis 0 (blocks of 16 rows:
  // scales [1, 20]), gathered along axis 1.
  const int64_t v = 3, d = 20;
  const std::vector<int> codes = Codes(v * d, 0, 16, 1);
  const std::vector<float> scales = Scales(d);
  OneNodeCase c = Case(Tensor(), MakeTensor<int64_t>(kInt32, {2}, {19, -20}),
                       MakeTensor<float>(kFloat, {1, d}, scales), nullptr);
  c.constants.erase("data");
  c.raw_initializers = {FourBit("data", kUint4, {v, d}, codes)};
  SetAttr(&c.node, "gather_axis", int64_t{1});
  SetAttr(&c.node, "quantize_axis", int64_t{0});
  SetAttr(&c.node, "block_size", int64_t{16});
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ((*out)[0].shape(), (std::vector<int64_t>{3, 2}));
  std::vector<double> want;
  for (int64_t r = 0; r < v; ++r) {
    for (int64_t col : {19, 0})
      want.push_back(codes[r * d + col] * static_cast<double>(scales[col]));
  }
  ExpectNear(Values((*out)[0]), want);
}

TEST(GatherBlockQuantizedTest, Int4WithZeroPointsMatchesReference) {
  const int64_t v = 4, d = 32, block = 16, blocks = 2;
  const std::vector<int> codes = Codes(v * d, -8, 16, 2);
  const std::vector<int> zero = Codes(v * blocks, -8, 16, 7);
  const std::vector<float> scales = Scales(v * blocks);
  OneNodeCase c = Case(Tensor(), Int64s({3}, {3, 0, 3}),
                       MakeTensor<float>(kFloat, {v, blocks}, scales), nullptr);
  c.node =
      MakeNode("GatherBlockQuantized", {"data", "idx", "scales", "zp"}, {"y"}, "com.microsoft");
  c.constants.erase("data");
  c.raw_initializers = {FourBit("data", kInt4, {v, d}, codes),
                        FourBit("zp", kInt4, {v, blocks}, zero)};
  SetAttr(&c.node, "block_size", block);
  auto out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectNear(Values((*out)[0]), GatherRows(codes, zero, scales, d, block, {3, 0, 3}));
}

void ExpectError(const OneNodeCase& c, const std::string& fragment) {
  auto out = RunOneNode(c);
  ASSERT_FALSE(out.ok()) << fragment;
  EXPECT_NE(out.status().message().find("GatherBlockQuantized_node"), std::string::npos)
      << out.status().ToString();
  EXPECT_NE(out.status().message().find(fragment), std::string::npos) << out.status().ToString();
}

TEST(GatherBlockQuantizedTest, RefusesBadIndicesAttributesAndShapes) {
  const Tensor data = MakeTensor<int>(kUint8, {3, 8}, std::vector<int>(24, 0x88));
  const Tensor scales = Floats({3, 1}, {1, 1, 1});
  auto with = [&](Tensor idx, Tensor s, int64_t block, int64_t bits, int64_t gather_axis) {
    OneNodeCase c = Case(data, std::move(idx), std::move(s), nullptr);
    SetAttr(&c.node, "block_size", block);
    SetAttr(&c.node, "bits", bits);
    SetAttr(&c.node, "gather_axis", gather_axis);
    return c;
  };
  ExpectError(with(Int64s({1}, {3}), scales, 16, 4, 0), "index 3 is out of range [-3, 2]");
  ExpectError(with(Int64s({1}, {0}), scales, 24, 4, 0), "block_size must be a power of two");
  ExpectError(with(Int64s({1}, {0}), scales, 16, 3, 0), "bits must be 2, 4 or 8");
  ExpectError(with(Int64s({1}, {0}), Floats({3, 2}, {}), 16, 4, 0), "scales have shape [3, 2]");
  ExpectError(with(Int64s({1}, {0}), scales, 16, 4, 1), "gather_axis 0");
  ExpectError(with(Floats({1}, {0}), scales, 16, 4, 0), "indices must be int32 or int64");
  OneNodeCase two_outputs = with(Int64s({1}, {0}), scales, 16, 4, 0);
  two_outputs.node.add_output("y2");
  ExpectError(two_outputs, "lists 2 outputs, the op has at most 1");
}

}  // namespace
}  // namespace pq
