// Tests of the quantized kernels, src/exec/kernels/quantized_*.cc (beyond
// ONNX's conformance cases):
// opset-19/21 forms of QuantizeLinear/DequantizeLinear, the integer and
// QLinear products, and com.microsoft MatMulBnb4 / MatMulNBits, with
// hand-computed answers, naive differential references and error cases.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "exec/kernel_test_util.h"
#include "quant/proto_build.h"
#include "pq/executor.h"
#include "pq/model.h"

namespace pq {
namespace {

using testing::Floats;
using testing::MakeNode;
using testing::MakeTensor;
using testing::OneNodeCase;
using testing::RunOneNode;
using testing::SetAttr;
using testing::Values;

// Float results are compared to hand-computed values within this bound.
constexpr double kFloatTolerance = 1e-5;

Tensor U8(std::vector<int64_t> shape, const std::vector<int>& v) {
  return MakeTensor<int>(kUint8, std::move(shape), v);
}
Tensor I8(std::vector<int64_t> shape, const std::vector<int>& v) {
  return MakeTensor<int>(kInt8, std::move(shape), v);
}
Tensor I32(std::vector<int64_t> shape, const std::vector<int>& v) {
  return MakeTensor<int>(kInt32, std::move(shape), v);
}

// Runs the case, expecting success; returns output `i` (undefined on failure).
Tensor RunOk(const OneNodeCase& c, int i = 0) {
  Result<std::vector<Tensor>> out = RunOneNode(c);
  if (!out.ok()) {
    ADD_FAILURE() << out.status().ToString();
    return Tensor();
  }
  return out.value()[static_cast<size_t>(i)];
}

// Runs the case, expecting a failure with `code` whose message has `needle`.
void ExpectFailure(const OneNodeCase& c, Status::Code code, const std::string& needle) {
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), code) << out.status().ToString();
  EXPECT_NE(out.status().message().find(needle), std::string::npos) << out.status().ToString();
}

void ExpectNear(const std::vector<double>& actual, const std::vector<double>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], kFloatTolerance) << "element " << i;
  }
}

OneNodeCase Quantize(int64_t opset, Tensor x, Tensor scale, Tensor zp = Tensor()) {
  OneNodeCase c;
  std::vector<std::string> ins = {"x", "s"};
  if (zp.defined()) ins.push_back("z");
  c.node = MakeNode("QuantizeLinear", ins, {"y"});
  c.opset = opset;
  c.inputs["x"] = std::move(x);
  c.inputs["s"] = std::move(scale);
  if (zp.defined()) c.constants["z"] = std::move(zp);
  return c;
}

OneNodeCase Dequantize(int64_t opset, Tensor x, Tensor scale, Tensor zp = Tensor()) {
  OneNodeCase c = Quantize(opset, std::move(x), std::move(scale), std::move(zp));
  c.node.set_op_type("DequantizeLinear");
  return c;
}

// ---- QuantizeLinear -------------------------------------------------------

TEST(QuantizedQuantizeLinearTest, RoundsExactHalvesToEven) {
  Tensor y = RunOk(Quantize(13, Floats({7}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 3.5f}),
                            Floats({}, {1.0f}), I8({}, {0})));
  EXPECT_EQ(y.dtype(), kInt8);
  EXPECT_EQ(Values(y), (std::vector<double>{0, 2, 2, 0, -2, -2, 4}));
  // The zero point is added after rounding.
  y = RunOk(Quantize(13, Floats({3}, {0.5f, 1.5f, 2.5f}), Floats({}, {1.0f}), U8({}, {10})));
  EXPECT_EQ(Values(y), (std::vector<double>{10, 12, 12}));
}

TEST(QuantizedQuantizeLinearTest, SaturatesToTheTargetRange) {
  Tensor y = RunOk(Quantize(13, Floats({5}, {200.0f, -200.0f, 63.5f, -64.0f, -64.25f}),
                            Floats({1}, {0.5f}), U8({1}, {128})));
  EXPECT_EQ(y.dtype(), kUint8);
  EXPECT_EQ(Values(y), (std::vector<double>{255, 0, 255, 0, 0}));
  y = RunOk(Quantize(13, Floats({4}, {127.5f, 128.0f, -127.5f, -200.0f}), Floats({}, {1.0f}),
                     I8({}, {-1})));
  EXPECT_EQ(Values(y), (std::vector<double>{127, 127, -128, -128}));
}

TEST(QuantizedQuantizeLinearTest, WithoutZeroPointProducesUint8) {
  Tensor y = RunOk(Quantize(10, Floats({3}, {-1.0f, 2.6f, 300.0f}), Floats({}, {1.0f})));
  EXPECT_EQ(y.dtype(), kUint8);
  EXPECT_EQ(Values(y), (std::vector<double>{0, 3, 255}));
}

TEST(QuantizedQuantizeLinearTest, Int32InputIsDivided) {
  Tensor y = RunOk(Quantize(13, I32({3}, {5, -5, 1000}), Floats({}, {2.0f}), I8({}, {1})));
  EXPECT_EQ(Values(y), (std::vector<double>{3, -1, 127}));  // 2.5 -> 2, -2.5 -> -2
}

TEST(QuantizedQuantizeLinearTest, PerAxisScalesAndZeroPoints) {
  OneNodeCase c = Quantize(13, Floats({2, 3}, {1, 2, 3, 4, 5, 6}), Floats({3}, {1, 2, 4}),
                           U8({3}, {0, 10, 20}));
  EXPECT_EQ(Values(RunOk(c)), (std::vector<double>{1, 11, 21, 4, 12, 22}));
  c = Quantize(13, Floats({2, 3}, {1, 2, 3, 4, 5, 6}), Floats({2}, {1, 10}), U8({2}, {0, 0}));
  SetAttr(&c.node, "axis", int64_t{-2});
  EXPECT_EQ(Values(RunOk(c)), (std::vector<double>{1, 2, 3, 0, 0, 1}));
}

TEST(QuantizedQuantizeLinearTest, BlockedWithPartialLastBlock) {
  // x [2, 5], blocks of 2 along axis 1: scale/zero point [2, 3].
  OneNodeCase c = Quantize(21, Floats({2, 5}, {1, 2, 3, 4, 5, 10, 20, 30, 40, 50}),
                           Floats({2, 3}, {1, 2, 4, 10, 5, 25}), U8({2, 3}, {0, 10, 20, 1, 2, 3}));
  SetAttr(&c.node, "block_size", int64_t{2});
  EXPECT_EQ(Values(RunOk(c)), (std::vector<double>{1, 2, 12, 12, 21, 2, 3, 8, 10, 5}));
}

TEST(QuantizedQuantizeLinearTest, Int4AndUint4OutputsSaturateToFourBits) {
  OneNodeCase c = Quantize(21, Floats({6}, {-20.0f, -8.5f, -7.5f, 6.5f, 7.5f, 100.0f}),
                           Floats({}, {1.0f}));
  SetAttr(&c.node, "output_dtype", int64_t{kInt4});
  Tensor y = RunOk(c);
  EXPECT_EQ(y.dtype(), kInt8);  // int4 values are held one per byte
  EXPECT_EQ(Values(y), (std::vector<double>{-8, -8, -8, 6, 7, 7}));

  c = Quantize(21, Floats({5}, {-1.0f, 7.5f, 8.5f, 15.5f, 16.0f}), Floats({}, {1.0f}));
  SetAttr(&c.node, "output_dtype", int64_t{kUint4});
  y = RunOk(c);
  EXPECT_EQ(y.dtype(), kUint8);
  EXPECT_EQ(Values(y), (std::vector<double>{0, 8, 8, 15, 15}));

  // An int8-held zero point with output_dtype int4 quantizes to int4.
  c = Quantize(21, Floats({2}, {5.0f, -5.0f}), Floats({}, {1.0f}), I8({}, {3}));
  SetAttr(&c.node, "output_dtype", int64_t{kInt4});
  EXPECT_EQ(Values(RunOk(c)), (std::vector<double>{7, -2}));
}

TEST(QuantizedQuantizeLinearTest, RejectsMalformedScalesNamingTheExpectation) {
  ExpectFailure(Quantize(13, Floats({2, 3}, {}), Floats({2}, {1, 1})), Status::Code::kInvalidInput,
                "per-axis");
  ExpectFailure(Quantize(10, Floats({2, 3}, {}), Floats({3}, {1, 1, 1})),
                Status::Code::kInvalidInput, "must be a scalar");
  OneNodeCase c = Quantize(21, Floats({2, 5}, {}), Floats({2, 2}, {1, 1, 1, 1}));
  SetAttr(&c.node, "block_size", int64_t{2});
  ExpectFailure(c, Status::Code::kInvalidInput, "expects [2, 3]");
  ExpectFailure(Quantize(13, Floats({2, 3}, {}), Floats({3}, {1, 1, 1}), U8({1}, {0})),
                Status::Code::kInvalidInput, "scale's shape [3]");
  c = Quantize(13, Floats({2, 3}, {}), Floats({3}, {1, 1, 1}));
  SetAttr(&c.node, "axis", int64_t{2});
  ExpectFailure(c, Status::Code::kInvalidInput, "out of range");
}

TEST(QuantizedQuantizeLinearTest, OutputDtypeMustAgreeWithZeroPoint) {
  OneNodeCase c = Quantize(21, Floats({1}, {1}), Floats({}, {1.0f}), U8({}, {0}));
  SetAttr(&c.node, "output_dtype", int64_t{kInt8});
  ExpectFailure(c, Status::Code::kInvalidInput, "does not match");
  c = Quantize(21, Floats({1}, {1}), Floats({}, {1.0f}));
  SetAttr(&c.node, "output_dtype", int64_t{kInt16});
  ExpectFailure(c, Status::Code::kNotSupported, "int16");
}

TEST(QuantizedQuantizeLinearTest, RegisteredThroughOpset25Only) {
  Tensor y = RunOk(Quantize(25, Floats({1}, {2.5f}), Floats({}, {1.0f})));
  EXPECT_EQ(Values(y), (std::vector<double>{2}));
  ExpectFailure(Quantize(26, Floats({1}, {1}), Floats({}, {1.0f})), Status::Code::kNotSupported,
                "QuantizeLinear");
}

// ---- DequantizeLinear -----------------------------------------------------

TEST(QuantizedDequantizeLinearTest, PerTensorSubtractsZeroPointThenScales) {
  Tensor y = RunOk(Dequantize(10, I8({4}, {-128, 0, 5, 127}), Floats({}, {0.5f}), I8({}, {5})));
  EXPECT_EQ(y.dtype(), kFloat);
  ExpectNear(Values(y), {-66.5, -2.5, 0, 61});
  y = RunOk(Dequantize(13, I32({2}, {-1000, 7}), Floats({1}, {0.25f})));
  ExpectNear(Values(y), {-250, 1.75});
}

TEST(QuantizedDequantizeLinearTest, PerAxis) {
  OneNodeCase c = Dequantize(13, U8({2, 2}, {10, 20, 30, 40}), Floats({2}, {1.0f, 0.1f}),
                             U8({2}, {10, 0}));
  SetAttr(&c.node, "axis", int64_t{0});
  ExpectNear(Values(RunOk(c)), {0, 10, 3, 4});
}

TEST(QuantizedDequantizeLinearTest, BlockedWithPartialLastBlock) {
  OneNodeCase c = Dequantize(21, I8({2, 5}, {-8, 7, 0, 5, -3, 1, 2, 3, 4, 5}),
                             Floats({2, 3}, {0.5f, 2, 0.25f, 1, 3, 10}),
                             I8({2, 3}, {0, 1, -3, 1, 2, 5}));
  SetAttr(&c.node, "block_size", int64_t{2});
  ExpectNear(Values(RunOk(c)), {-4, 3.5, -2, 8, 0, 0, 1, 3, 6, 0});
}

TEST(QuantizedDequantizeLinearTest, BlockedOnAMiddleAxis) {
  // x [1, 3, 2], blocks of 2 along axis 1: scale [1, 2, 2].
  OneNodeCase c = Dequantize(21, I8({1, 3, 2}, {1, 2, 3, 4, 5, 6}),
                             Floats({1, 2, 2}, {1, 10, 100, 1000}));
  SetAttr(&c.node, "block_size", int64_t{2});
  SetAttr(&c.node, "axis", int64_t{1});
  ExpectNear(Values(RunOk(c)), {1, 20, 3, 40, 500, 6000});
}

TEST(QuantizedDequantizeLinearTest, RejectsMismatchedZeroPointsAndScales) {
  ExpectFailure(Dequantize(13, I8({2}, {1, 2}), Floats({}, {1.0f}), U8({}, {0})),
                Status::Code::kInvalidInput, "x_zero_point must have x's type");
  ExpectFailure(Dequantize(13, I8({2, 3}, {}), Floats({4}, {1, 1, 1, 1})),
                Status::Code::kInvalidInput, "[3] (per-axis");
  OneNodeCase c = Dequantize(21, I8({4, 4}, {}), Floats({4, 3}, {}));
  SetAttr(&c.node, "block_size", int64_t{2});
  ExpectFailure(c, Status::Code::kInvalidInput, "expects [4, 2]");
}

// Runs `c` on `threads` threads with extra raw initializers.
Result<std::vector<Tensor>> RunWith(OneNodeCase c, int threads,
                                    const std::vector<onnx::TensorProto>& raw = {}) {
  c.threads = threads;
  c.raw_initializers = raw;
  return RunOneNode(c);
}

TEST(QuantizedDequantizeLinearTest, PackedInt4InitializerIsUnpackedLowNibbleFirst) {
  OneNodeCase c;
  c.node = MakeNode("DequantizeLinear", {"x", "s"}, {"y"});
  c.opset = 21;
  c.inputs["s"] = Floats({}, {0.5f});
  // Five int4 values 1, 2, 3, -8, -1 (odd count: the high nibble of the
  // last byte is padding).
  const onnx::TensorProto x = quant::Initializer("x", kInt4, {5}, std::string("\x21\x83\x0f", 3));
  Result<std::vector<Tensor>> out = RunWith(c, 1, {x});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectNear(Values((*out)[0]), {0.5, 1.0, 1.5, -4.0, -0.5});
}

TEST(QuantizedDequantizeLinearTest, PackedUint4InitializerWithUint4ZeroPoint) {
  OneNodeCase c;
  c.node = MakeNode("DequantizeLinear", {"x", "s", "z"}, {"y"});
  c.opset = 21;
  c.inputs["s"] = Floats({}, {2.0f});
  const onnx::TensorProto x =
      quant::Initializer("x", kUint4, {3}, std::string("\xf0\x07", 2));  // 0, 15, 7
  const onnx::TensorProto z =
      quant::Initializer("z", kUint4, {}, std::string("\x07", 1));  // scalar 7
  Result<std::vector<Tensor>> out = RunWith(c, 1, {x, z});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ExpectNear(Values((*out)[0]), {-14.0, 16.0, 0.0});
}

// ---- DynamicQuantizeLinear ------------------------------------------------

TEST(QuantizedDynamicQuantizeLinearTest, MapsTheRangeWithZeroToUint8) {
  OneNodeCase c;
  c.node = MakeNode("DynamicQuantizeLinear", {"x"}, {"y", "s", "z"});
  c.inputs["x"] = Floats({4}, {-51.0f, 0.0f, 204.0f, 10.5f});
  Result<std::vector<Tensor>> out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[0]), (std::vector<double>{0, 51, 255, 61}));  // 10.5 -> 10
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{1.0}));
  EXPECT_EQ(Values(out.value()[2]), (std::vector<double>{51}));
  EXPECT_EQ(out.value()[1].rank(), 0);

  c.inputs["x"] = Floats({2}, {0.0f, 0.0f});  // empty range: scale 1, zero point 0
  out = RunOneNode(c);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values(out.value()[1]), (std::vector<double>{1.0}));
  EXPECT_EQ(Values(out.value()[2]), (std::vector<double>{0}));
}

// ---- MatMulInteger / QLinearMatMul -----------------------------------------

TEST(QuantizedMatMulIntegerTest, PerRowAndPerColumnZeroPoints) {
  OneNodeCase c;
  c.node = MakeNode("MatMulInteger", {"a", "b", "az", "bz"}, {"y"});
  c.inputs["a"] = U8({2, 3}, {10, 20, 30, 1, 2, 3});
  c.inputs["b"] = I8({3, 2}, {1, -1, 2, -2, 3, 4});
  c.constants["az"] = U8({2}, {10, 1});
  c.constants["bz"] = I8({2}, {1, -2});
  Tensor y = RunOk(c);
  EXPECT_EQ(y.dtype(), kInt32);
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(Values(y), (std::vector<double>{50, 120, 5, 12}));
}

TEST(QuantizedMatMulIntegerTest, BatchedBroadcastMatchesNaiveReference) {
  // A [3, 2, 4] int8 with per-row zero points [3, 2, 1]; B [4, 5] uint8.
  std::vector<int> a(24), b(20), az(6);
  for (int i = 0; i < 24; ++i) a[static_cast<size_t>(i)] = (i * 37) % 256 - 128;
  for (int i = 0; i < 20; ++i) b[static_cast<size_t>(i)] = (i * 53 + 7) % 256;
  for (int i = 0; i < 6; ++i) az[static_cast<size_t>(i)] = i * 9 - 20;
  const int bz = 100;
  OneNodeCase c;
  c.node = MakeNode("MatMulInteger", {"a", "b", "az", "bz"}, {"y"});
  c.inputs["a"] = I8({3, 2, 4}, a);
  c.inputs["b"] = U8({4, 5}, b);
  c.inputs["az"] = I8({3, 2, 1}, az);
  c.inputs["bz"] = U8({}, {bz});
  Tensor y = RunOk(c);
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{3, 2, 5}));
  std::vector<double> expected;
  for (int bt = 0; bt < 3; ++bt) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < 5; ++j) {
        int sum = 0;
        for (int k = 0; k < 4; ++k) {
          sum += (a[static_cast<size_t>((bt * 2 + i) * 4 + k)] - az[static_cast<size_t>(bt * 2 + i)]) *
                 (b[static_cast<size_t>(k * 5 + j)] - bz);
        }
        expected.push_back(sum);
      }
    }
  }
  EXPECT_EQ(Values(y), expected);
}

TEST(QuantizedMatMulIntegerTest, OneDimensionalOperandsDropTheirDim) {
  OneNodeCase c;
  c.node = MakeNode("MatMulInteger", {"a", "b"}, {"y"});
  c.inputs["a"] = U8({3}, {1, 2, 3});
  c.inputs["b"] = U8({3, 2}, {1, 0, 0, 1, 1, 1});
  Tensor y = RunOk(c);
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(Values(y), (std::vector<double>{4, 5}));
}

TEST(QuantizedMatMulIntegerTest, RejectsZeroPointOfWrongLength) {
  OneNodeCase c;
  c.node = MakeNode("MatMulInteger", {"a", "b", "az"}, {"y"});
  c.inputs["a"] = U8({2, 3}, {});
  c.inputs["b"] = U8({3, 2}, {});
  c.inputs["az"] = U8({3}, {});
  ExpectFailure(c, Status::Code::kInvalidInput, "per row of A");
  c.inputs["b"] = U8({4, 2}, {});
  c.inputs["az"] = U8({}, {0});
  ExpectFailure(c, Status::Code::kInvalidInput, "do not multiply");
}

OneNodeCase QLinearMatMulCase(Tensor a, Tensor a_scale, Tensor b, Tensor b_scale, float y_scale,
                              Tensor y_zp) {
  OneNodeCase c;
  c.node = MakeNode("QLinearMatMul", {"a", "as", "az", "b", "bs", "bz", "ys", "yz"}, {"y"});
  c.inputs["az"] = MakeTensor<int>(a.dtype(), {}, {0});
  c.inputs["bz"] = MakeTensor<int>(b.dtype(), {}, {0});
  c.inputs["a"] = std::move(a);
  c.inputs["as"] = std::move(a_scale);
  c.inputs["b"] = std::move(b);
  c.inputs["bs"] = std::move(b_scale);
  c.inputs["ys"] = Floats({}, {y_scale});
  c.inputs["yz"] = std::move(y_zp);
  return c;
}

TEST(QuantizedQLinearMatMulTest, RequantizesHalfToEvenAndSaturates) {
  Tensor y = RunOk(QLinearMatMulCase(U8({1, 1}, {1}), Floats({}, {1}), I8({1, 5}, {1, 3, 5, 7, -1}),
                                     Floats({}, {1}), 2.0f, U8({}, {10})));
  EXPECT_EQ(y.dtype(), kUint8);
  EXPECT_EQ(Values(y), (std::vector<double>{10, 12, 12, 14, 10}));
  y = RunOk(QLinearMatMulCase(U8({1, 1}, {2}), Floats({}, {1}), I8({1, 2}, {127, -128}),
                              Floats({}, {1}), 1.0f, U8({}, {10})));
  EXPECT_EQ(Values(y), (std::vector<double>{255, 0}));
}

TEST(QuantizedQLinearMatMulTest, PerRowAndPerColumnScales) {
  Tensor y = RunOk(QLinearMatMulCase(U8({2, 2}, {1, 2, 3, 4}), Floats({2}, {1, 2}),
                                     U8({2, 2}, {1, 0, 0, 1}), Floats({2}, {1, 0.5f}), 1.0f,
                                     I8({}, {0})));
  EXPECT_EQ(y.dtype(), kInt8);
  EXPECT_EQ(Values(y), (std::vector<double>{1, 1, 6, 4}));
}

TEST(QuantizedQLinearMatMulTest, RejectsPerRowOutputScale) {
  OneNodeCase c = QLinearMatMulCase(U8({2, 2}, {}), Floats({}, {1}), U8({2, 2}, {}),
                                    Floats({}, {1}), 1.0f, U8({}, {0}));
  c.inputs["ys"] = Floats({2}, {1, 1});
  ExpectFailure(c, Status::Code::kInvalidInput, "y_scale must hold one element");
}

// ---- ConvInteger / QLinearConv ---------------------------------------------

OneNodeCase ConvIntegerCase(Tensor x, Tensor w) {
  OneNodeCase c;
  c.node = MakeNode("ConvInteger", {"x", "w"}, {"y"});
  c.inputs["x"] = std::move(x);
  c.inputs["w"] = std::move(w);
  return c;
}

TEST(QuantizedConvIntegerTest, AutoPadSameUpperAndLower) {
  OneNodeCase c = ConvIntegerCase(U8({1, 1, 2, 2}, {1, 2, 3, 4}), U8({1, 1, 2, 2}, {1, 1, 1, 1}));
  SetAttr(&c.node, "auto_pad", std::string("SAME_UPPER"));
  Tensor y = RunOk(c);
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{1, 1, 2, 2}));
  EXPECT_EQ(Values(y), (std::vector<double>{10, 6, 7, 4}));
  c.node.mutable_attribute(0)->set_s("SAME_LOWER");
  EXPECT_EQ(Values(RunOk(c)), (std::vector<double>{1, 3, 4, 10}));
}

TEST(QuantizedConvIntegerTest, PaddingReadsTheZeroPoint) {
  OneNodeCase c = ConvIntegerCase(U8({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9}),
                                  U8({1, 1, 2, 2}, {2, 2, 2, 2}));
  c.node.add_input("xz");
  c.node.add_input("wz");
  c.inputs["xz"] = U8({}, {1});
  c.inputs["wz"] = U8({1}, {1});
  SetAttr(&c.node, "pads", std::vector<int64_t>{1, 1, 1, 1});
  SetAttr(&c.node, "strides", std::vector<int64_t>{2, 2});
  EXPECT_EQ(Values(RunOk(c)), (std::vector<double>{0, 3, 9, 24}));
}

TEST(QuantizedConvIntegerTest, GroupedDilatedStridedMatchesNaiveReference) {
  // x [2, 4, 5, 6] int8, w [6, 2, 2, 3] int8 (group 2), per-channel w zero points.
  const int64_t n = 2, ci = 4, h = 5, wd = 6, co = 6, group = 2, kh = 2, kw = 3;
  const int64_t sh = 1, sw = 2, dh = 2, dw = 1, pt = 1, pl = 2, pb = 0, pr = 1;
  std::vector<int> x(static_cast<size_t>(n * ci * h * wd)), w(static_cast<size_t>(co * 2 * kh * kw));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int>((i * 29 + 3) % 256) - 128;
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int>((i * 71 + 11) % 256) - 128;
  const std::vector<int> wz = {0, 1, -1, 5, -7, 127};
  const int xz = -3;
  OneNodeCase c = ConvIntegerCase(I8({n, ci, h, wd}, x), I8({co, 2, kh, kw}, w));
  c.node.add_input("xz");
  c.node.add_input("wz");
  c.inputs["xz"] = I8({}, {xz});
  c.inputs["wz"] = I8({co}, wz);
  SetAttr(&c.node, "group", group);
  SetAttr(&c.node, "strides", std::vector<int64_t>{sh, sw});
  SetAttr(&c.node, "dilations", std::vector<int64_t>{dh, dw});
  SetAttr(&c.node, "pads", std::vector<int64_t>{pt, pl, pb, pr});
  SetAttr(&c.node, "kernel_shape", std::vector<int64_t>{kh, kw});
  Tensor y = RunOk(c);
  const int64_t oh = (h + pt + pb - dh * (kh - 1) - 1) / sh + 1;
  const int64_t ow = (wd + pl + pr - dw * (kw - 1) - 1) / sw + 1;
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{n, co, oh, ow}));
  std::vector<double> expected;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t m = 0; m < co; ++m) {
      const int64_t g = m / (co / group);
      for (int64_t oy = 0; oy < oh; ++oy) {
        for (int64_t ox = 0; ox < ow; ++ox) {
          int64_t sum = 0;
          for (int64_t c2 = 0; c2 < 2; ++c2) {
            for (int64_t i = 0; i < kh; ++i) {
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t iy = oy * sh - pt + i * dh, ix = ox * sw - pl + j * dw;
                if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
                const int64_t xc = g * 2 + c2;
                sum += (x[static_cast<size_t>(((b * ci + xc) * h + iy) * wd + ix)] - xz) *
                       (w[static_cast<size_t>(((m * 2 + c2) * kh + i) * kw + j)] -
                        wz[static_cast<size_t>(m)]);
              }
            }
          }
          expected.push_back(static_cast<double>(sum));
        }
      }
    }
  }
  EXPECT_EQ(Values(y), expected);
}

TEST(QuantizedConvIntegerTest, OneDimensionalConvolution) {
  OneNodeCase c = ConvIntegerCase(U8({1, 1, 4}, {1, 2, 3, 4}), U8({1, 1, 2}, {1, 10}));
  Tensor y = RunOk(c);
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{1, 1, 3}));
  EXPECT_EQ(Values(y), (std::vector<double>{21, 32, 43}));
}

TEST(QuantizedConvIntegerTest, RejectsMalformedShapes) {
  OneNodeCase c = ConvIntegerCase(U8({1, 4, 3, 3}, {}), U8({2, 3, 1, 1}, {}));
  SetAttr(&c.node, "group", int64_t{2});
  ExpectFailure(c, Status::Code::kInvalidInput, "w[1] * group == C");
  c = ConvIntegerCase(U8({1, 1, 2, 2}, {}), U8({1, 1, 3, 3}, {}));
  ExpectFailure(c, Status::Code::kInvalidInput, "empty output");
  c = ConvIntegerCase(U8({1, 1, 2, 2, 2}, {}), U8({1, 1, 1, 1, 1}, {}));
  ExpectFailure(c, Status::Code::kNotSupported, "1-D and 2-D");
}

TEST(QuantizedQLinearConvTest, PerChannelScalesBiasAndHalfToEven) {
  OneNodeCase c;
  c.node = MakeNode("QLinearConv", {"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"}, {"y"});
  c.inputs["x"] = U8({1, 1, 2, 2}, {2, 4, 6, 8});
  c.inputs["xs"] = Floats({}, {0.5f});
  c.inputs["xz"] = U8({}, {2});
  c.inputs["w"] = I8({2, 1, 1, 1}, {1, -2});
  c.inputs["ws"] = Floats({2}, {1.0f, 0.25f});
  c.inputs["wz"] = I8({2}, {0, 0});
  c.inputs["ys"] = Floats({}, {1.0f});
  c.inputs["yz"] = U8({}, {100});
  c.inputs["b"] = I32({2}, {1, -3});
  Tensor y = RunOk(c);
  EXPECT_EQ(y.dtype(), kUint8);
  EXPECT_EQ(Values(y), (std::vector<double>{100, 102, 102, 104, 100, 99, 99, 98}));
}

// ---- com.microsoft MatMulBnb4 ----------------------------------------------

// NF4 code values as ORT's spec lists them.
const std::vector<double> kNf4 = {
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
    -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
    0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
    0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0};

// Packs codes two per byte, the first of each pair in the HIGH nibble.
std::vector<int> PackHighFirst(const std::vector<int>& codes) {
  std::vector<int> bytes((codes.size() + 1) / 2, 0);
  for (size_t i = 0; i < codes.size(); ++i) bytes[i / 2] |= (i % 2 == 0) ? codes[i] << 4 : codes[i];
  return bytes;
}

std::vector<float> Identity(int64_t n) {
  std::vector<float> v(static_cast<size_t>(n * n), 0.0f);
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i * n + i)] = 1.0f;
  return v;
}

OneNodeCase Bnb4Case(int64_t k, int64_t n, int64_t block_size, int64_t quant_type, Tensor a,
                     Tensor b, Tensor absmax) {
  OneNodeCase c;
  c.node = MakeNode("MatMulBnb4", {"a", "b", "absmax"}, {"y"}, "com.microsoft");
  SetAttr(&c.node, "K", k);
  SetAttr(&c.node, "N", n);
  SetAttr(&c.node, "block_size", block_size);
  SetAttr(&c.node, "quant_type", quant_type);
  c.inputs["a"] = std::move(a);
  c.constants["b"] = std::move(b);
  c.constants["absmax"] = std::move(absmax);
  return c;
}

TEST(QuantizedMatMulBnb4Test, Nf4BlocksWithPartialLastBlockHighNibbleFirst) {
  // W [2, 20] = 40 codes in blocks of 16, 16 and 8; code(i) = i % 16.
  const int64_t k = 20, n = 2;
  std::vector<int> codes(40);
  for (int i = 0; i < 40; ++i) codes[static_cast<size_t>(i)] = i % 16;
  const std::vector<float> absmax = {2.0f, 0.5f, 4.0f};
  OneNodeCase c = Bnb4Case(k, n, 16, 1, Floats({k, k}, Identity(k)), U8({20}, PackHighFirst(codes)),
                           Floats({3}, absmax));
  Tensor y = RunOk(c);  // A = I, so Y = W^T
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{k, n}));
  const std::vector<double> v = Values(y);
  EXPECT_NEAR(v[0], -2.0, kFloatTolerance);                  // W[0,0]: code 0 (high nibble)
  EXPECT_NEAR(v[2], -0.6961928009986877 * 2, kFloatTolerance);  // W[0,1]: code 1 (low nibble)
  EXPECT_NEAR(v[1], -0.28444138169288635 * 0.5, kFloatTolerance);  // W[1,0]: i 20, block 1
  EXPECT_NEAR(v[12 * 2 + 1], -4.0, kFloatTolerance);         // W[1,12]: i 32, partial block 2
  std::vector<double> expected(static_cast<size_t>(k * n));
  for (int64_t i = 0; i < k * n; ++i) {
    const int64_t row = i / k, col = i % k;
    expected[static_cast<size_t>(col * n + row)] = kNf4[static_cast<size_t>(i % 16)] * absmax[static_cast<size_t>(i / 16)];
  }
  ExpectNear(v, expected);

  // A general row: the sum of each row of W.
  c.inputs["a"] = Floats({1, k}, std::vector<float>(static_cast<size_t>(k), 1.0f));
  std::vector<double> sums(2, 0.0);
  for (int64_t i = 0; i < k * n; ++i) sums[static_cast<size_t>(i / k)] += expected[static_cast<size_t>((i % k) * n + i / k)];
  ExpectNear(Values(RunOk(c)), sums);
}

TEST(QuantizedMatMulBnb4Test, Fp4Codebook) {
  std::vector<int> codes(16);
  for (int i = 0; i < 16; ++i) codes[static_cast<size_t>(i)] = i;
  OneNodeCase c = Bnb4Case(16, 1, 16, 0, Floats({16, 16}, Identity(16)), U8({8}, PackHighFirst(codes)),
                           Floats({1}, {3.0f}));
  const double sub = 0.0625 / 12;
  std::vector<double> expected = {0, sub, 8.0 / 12, 1, 4.0 / 12, 6.0 / 12, 2.0 / 12, 3.0 / 12,
                                  0, -sub, -8.0 / 12, -1, -4.0 / 12, -6.0 / 12, -2.0 / 12, -3.0 / 12};
  for (double& e : expected) e *= 3.0;
  ExpectNear(Values(RunOk(c)), expected);
}

TEST(QuantizedMatMulBnb4Test, TransBZeroMultipliesByWUntransposed) {
  std::vector<int> codes(32);
  for (int i = 0; i < 32; ++i) codes[static_cast<size_t>(i)] = (i * 5) % 16;
  OneNodeCase c = Bnb4Case(16, 2, 16, 1, Floats({1, 2}, {1.0f, 10.0f}), U8({16}, PackHighFirst(codes)),
                           Floats({2}, {1.0f, 2.0f}));
  SetAttr(&c.node, "transB", int64_t{0});
  Tensor y = RunOk(c);
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{1, 16}));
  std::vector<double> expected(16);
  for (int k = 0; k < 16; ++k) {
    expected[static_cast<size_t>(k)] = kNf4[static_cast<size_t>(codes[static_cast<size_t>(k)])] * 1.0 +
                                       10.0 * kNf4[static_cast<size_t>(codes[static_cast<size_t>(16 + k)])] * 2.0;
  }
  ExpectNear(Values(y), expected);
}

TEST(QuantizedMatMulBnb4Test, RejectsWrongPackedSizes) {
  ExpectFailure(Bnb4Case(20, 2, 16, 1, Floats({1, 20}, {}), U8({19}, {}), Floats({3}, {})),
                Status::Code::kInvalidInput, "(N*K+1)/2 = 20");
  ExpectFailure(Bnb4Case(20, 2, 16, 1, Floats({1, 20}, {}), U8({20}, {}), Floats({2}, {})),
                Status::Code::kInvalidInput, "needs 3");
  ExpectFailure(Bnb4Case(20, 2, 24, 1, Floats({1, 20}, {}), U8({20}, {}), Floats({2}, {})),
                Status::Code::kInvalidInput, "power of two");
  ExpectFailure(Bnb4Case(20, 2, 16, 2, Floats({1, 20}, {}), U8({20}, {}), Floats({3}, {})),
                Status::Code::kInvalidInput, "quant_type");
  ExpectFailure(Bnb4Case(20, 2, 16, 1, Floats({1, 19}, {}), U8({20}, {}), Floats({3}, {})),
                Status::Code::kInvalidInput, "K = 20");
}

// ---- com.microsoft MatMulNBits ---------------------------------------------

// Packs `codes` (one row of K per n) into [N, k_blocks, block_size/2]
// bytes, the first code of each byte in the LOW nibble; padding codes are 15.
std::vector<int> PackNBits4(const std::vector<int>& codes, int64_t n, int64_t k, int64_t block) {
  const int64_t k_blocks = (k + block - 1) / block;
  std::vector<int> bytes(static_cast<size_t>(n * k_blocks * block / 2), 0);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t kk = 0; kk < k_blocks * block; ++kk) {
      const int code = kk < k ? codes[static_cast<size_t>(r * k + kk)] : 15;
      const int64_t byte = r * k_blocks * block / 2 + kk / 2;
      bytes[static_cast<size_t>(byte)] |= (kk % 2 == 0) ? code : code << 4;
    }
  }
  return bytes;
}

struct NBitsFixture {
  static constexpr int64_t kK = 20, kN = 2, kBlock = 16;
  std::vector<int> codes;
  std::vector<float> scales = {1.0f, 0.5f, 2.0f, 0.25f};  // [N, k_blocks]
  NBitsFixture() {
    for (int64_t r = 0; r < kN; ++r) {
      for (int64_t kk = 0; kk < kK; ++kk) codes.push_back(static_cast<int>((r * 7 + kk) % 16));
    }
  }
  OneNodeCase Case() const {
    OneNodeCase c;
    c.node = MakeNode("MatMulNBits", {"a", "b", "s"}, {"y"}, "com.microsoft");
    SetAttr(&c.node, "K", kK);
    SetAttr(&c.node, "N", kN);
    SetAttr(&c.node, "bits", int64_t{4});
    SetAttr(&c.node, "block_size", kBlock);
    c.inputs["a"] = Floats({kK, kK}, Identity(kK));
    c.constants["b"] = U8({kN, 2, kBlock / 2}, PackNBits4(codes, kN, kK, kBlock));
    c.constants["s"] = Floats({kN, 2}, scales);
    return c;
  }
  // Y = I x W^T = W^T with w[n, k] = (code - zp(n, block)) * scale(n, block).
  template <typename ZeroPoint>
  std::vector<double> Expected(ZeroPoint zp) const {
    std::vector<double> out(static_cast<size_t>(kK * kN));
    for (int64_t r = 0; r < kN; ++r) {
      for (int64_t kk = 0; kk < kK; ++kk) {
        const int64_t blk = kk / kBlock;
        out[static_cast<size_t>(kk * kN + r)] =
            (codes[static_cast<size_t>(r * kK + kk)] - zp(r, blk)) * scales[static_cast<size_t>(r * 2 + blk)];
      }
    }
    return out;
  }
};

TEST(QuantizedMatMulNBitsTest, LowNibbleFirstWithDefaultZeroPointEight) {
  NBitsFixture f;
  Tensor y = RunOk(f.Case());
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{20, 2}));
  const std::vector<double> v = Values(y);
  EXPECT_NEAR(v[0], -8.0, kFloatTolerance);   // W[0,0]: code 0 in the low nibble
  EXPECT_NEAR(v[2], -7.0, kFloatTolerance);   // W[0,1]: code 1 in the high nibble
  EXPECT_NEAR(v[32], -4.0, kFloatTolerance);  // W[0,16]: code 0, block 1 scale 0.5
  EXPECT_NEAR(v[1], -2.0, kFloatTolerance);   // W[1,0]: code 7, scale 2
  ExpectNear(v, f.Expected([](int64_t, int64_t) { return 8.0; }));
}

TEST(QuantizedMatMulNBitsTest, PackedUint8ZeroPoints) {
  NBitsFixture f;
  OneNodeCase c = f.Case();
  c.node.add_input("zp");
  c.constants["zp"] = U8({2, 1}, {0x53, 0x0A});  // row 0: blocks 3, 5; row 1: blocks 10, 0
  const int zps[2][2] = {{3, 5}, {10, 0}};
  ExpectNear(Values(RunOk(c)), f.Expected([&](int64_t r, int64_t b) { return zps[r][b]; }));
}

TEST(QuantizedMatMulNBitsTest, FloatZeroPointsAndBias) {
  NBitsFixture f;
  OneNodeCase c = f.Case();
  c.node.add_input("zp");
  c.node.add_input("");  // g_idx absent
  c.node.add_input("bias");
  c.constants["zp"] = Floats({2, 2}, {8.5f, 0.0f, 1.0f, 2.0f});
  c.constants["bias"] = Floats({2}, {100.0f, -100.0f});
  const double zps[2][2] = {{8.5, 0}, {1, 2}};
  std::vector<double> expected = f.Expected([&](int64_t r, int64_t b) { return zps[r][b]; });
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += i % 2 == 0 ? 100.0 : -100.0;
  ExpectNear(Values(RunOk(c)), expected);
}

TEST(QuantizedMatMulNBitsTest, EightAndTwoBitCodes) {
  OneNodeCase c;
  c.node = MakeNode("MatMulNBits", {"a", "b", "s"}, {"y"}, "com.microsoft");
  SetAttr(&c.node, "K", int64_t{16});
  SetAttr(&c.node, "N", int64_t{1});
  SetAttr(&c.node, "bits", int64_t{8});
  SetAttr(&c.node, "block_size", int64_t{16});
  std::vector<int> bytes(16);
  for (int i = 0; i < 16; ++i) bytes[static_cast<size_t>(i)] = 120 + i;
  c.inputs["a"] = Floats({16, 16}, Identity(16));
  c.constants["b"] = U8({1, 1, 16}, bytes);
  c.constants["s"] = Floats({1}, {0.5f});
  std::vector<double> expected(16);
  for (int i = 0; i < 16; ++i) expected[static_cast<size_t>(i)] = (i - 8) * 0.5;  // zp 128
  ExpectNear(Values(RunOk(c)), expected);

  c.node.mutable_attribute(2)->set_i(2);
  c.constants["b"] = U8({1, 1, 4}, {0xE4, 0xE4, 0xE4, 0xE4});  // codes 0, 1, 2, 3 low bits first
  for (int i = 0; i < 16; ++i) expected[static_cast<size_t>(i)] = (i % 4 - 2) * 0.5;  // zp 2
  ExpectNear(Values(RunOk(c)), expected);
}

TEST(QuantizedMatMulNBitsTest, BatchedInputKeepsLeadingDims) {
  NBitsFixture f;
  OneNodeCase c = f.Case();
  std::vector<float> a(40, 0.0f);
  a[0] = 1.0f;        // batch 0 picks k = 0
  a[20 + 16] = 1.0f;  // batch 1 picks k = 16
  c.inputs["a"] = Floats({2, 1, 20}, a);
  Tensor y = RunOk(c);
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 1, 2}));
  ExpectNear(Values(y), {-8.0, -2.0, -4.0, (7 - 8) * 0.25});
}

TEST(QuantizedMatMulNBitsTest, RejectsWrongPackedSizesAndUnsupportedForms) {
  NBitsFixture f;
  OneNodeCase c = f.Case();
  c.constants["b"] = U8({2, 1, 8}, {});
  ExpectFailure(c, Status::Code::kInvalidInput, "need [2, 2, 8]");
  c = f.Case();
  c.constants["s"] = Floats({2}, {1, 1});
  ExpectFailure(c, Status::Code::kInvalidInput, "N * k_blocks = 4");
  c = f.Case();
  c.node.add_input("zp");
  c.constants["zp"] = U8({2, 2}, {});
  ExpectFailure(c, Status::Code::kInvalidInput, "expected 2 packed bytes");
  c = f.Case();
  c.node.add_input("");
  c.node.add_input("g");
  c.constants["g"] = I32({20}, {});
  ExpectFailure(c, Status::Code::kNotSupported, "g_idx");
  c = f.Case();
  c.node.mutable_attribute(2)->set_i(3);
  ExpectFailure(c, Status::Code::kNotSupported, "bits = 3");
  c = f.Case();
  c.inputs["a"] = Floats({1, 16}, {});
  ExpectFailure(c, Status::Code::kInvalidInput, "K = 20");
}

// ---- Determinism ---------------------------------------------------------

TEST(QuantizedDeterminismTest, ResultsDoNotDependOnThreadCount) {
  const int64_t k = 256, n = 64, m = 8;
  std::vector<int> codes(static_cast<size_t>(n * k));
  for (size_t i = 0; i < codes.size(); ++i) codes[i] = static_cast<int>((i * 11 + 5) % 16);
  std::vector<float> scales(static_cast<size_t>(n * 4)), a(static_cast<size_t>(m * k));
  for (size_t i = 0; i < scales.size(); ++i) scales[i] = 0.01f * static_cast<float>(i % 13 + 1);
  for (size_t i = 0; i < a.size(); ++i) a[i] = 0.37f * static_cast<float>(i % 29) - 5.0f;
  OneNodeCase c;
  c.node = MakeNode("MatMulNBits", {"a", "b", "s"}, {"y"}, "com.microsoft");
  SetAttr(&c.node, "K", k);
  SetAttr(&c.node, "N", n);
  SetAttr(&c.node, "block_size", int64_t{64});
  c.inputs["a"] = Floats({m, k}, a);
  c.inputs["b"] = U8({n, 4, 32}, PackNBits4(codes, n, k, 64));
  c.inputs["s"] = Floats({n, 4}, scales);
  Result<std::vector<Tensor>> one = RunWith(c, 1);
  Result<std::vector<Tensor>> two = RunWith(c, 2);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  const Tensor& y1 = one.value()[0];
  const Tensor& y2 = two.value()[0];
  ASSERT_EQ(y1.shape(), y2.shape());
  EXPECT_EQ(std::memcmp(y1.raw(), y2.raw(), static_cast<size_t>(y1.byte_size())), 0);

  OneNodeCase mm;
  mm.node = MakeNode("MatMulInteger", {"a", "b"}, {"y"});
  std::vector<int> ai(static_cast<size_t>(64 * 512)), bi(static_cast<size_t>(512 * 64));
  for (size_t i = 0; i < ai.size(); ++i) ai[i] = static_cast<int>(i * 7 % 256);
  for (size_t i = 0; i < bi.size(); ++i) bi[i] = static_cast<int>(i * 13 % 256) - 128;
  mm.inputs["a"] = U8({64, 512}, ai);
  mm.inputs["b"] = I8({512, 64}, bi);
  one = RunWith(mm, 1);
  two = RunWith(mm, 2);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(Values(one.value()[0]), Values(two.value()[0]));
}

}  // namespace
}  // namespace pq
