// Tests of src/gguf/gguf_writer.cc and gguf_reader.cc: round trips of every
// value type and of tensors, writer refusals, and hostile files.
#include "gguf/gguf_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "testutil/temp_dir.h"

namespace pq::gguf {
namespace {

using testing::TempDir;

std::vector<uint8_t> Bytes(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

Value Scalar(ValueType type, int64_t integer, double real = 0) {
  Value v;
  v.type = type;
  v.integer = integer;
  v.real = real;
  return v;
}

Value Array(ValueType element, std::vector<int64_t> integers, std::vector<double> reals = {}) {
  Value v;
  v.type = ValueType::kArray;
  v.element_type = element;
  v.integers = std::move(integers);
  v.reals = std::move(reals);
  return v;
}

std::vector<KeyValue> EveryValueType() {
  return {
      {"u8", Scalar(ValueType::kUint8, 250)},
      {"i8", Scalar(ValueType::kInt8, -100)},
      {"u16", Scalar(ValueType::kUint16, 65000)},
      {"i16", Scalar(ValueType::kInt16, -32000)},
      {"u32", Value::Uint32(4000000000u)},
      {"i32", Value::Int32(-2000000000)},
      {"f32", Value::Float32(1.5f)},
      {"bool", Value::Bool(true)},
      {"str", Value::String("héllo")},
      {"u64", Value::Uint64(1ull << 40)},
      {"i64", Scalar(ValueType::kInt64, -(1ll << 50))},
      {"f64", Scalar(ValueType::kFloat64, 0, 0.1)},
      {"a.str", Value::Strings({"a", "", "ccc"})},
      {"a.f32", Value::Float32s({0.5f, -2.0f})},
      {"a.i32", Value::Int32s({1, -2, 3})},
      {"a.u8", Array(ValueType::kUint8, {0, 255})},
      {"a.bool", Array(ValueType::kBool, {1, 0})},
      {"a.i64", Array(ValueType::kInt64, {-5})},
      {"a.f64", Array(ValueType::kFloat64, {}, {1e300})},
      {"a.empty", Array(ValueType::kUint16, {})},
  };
}

// Tensors whose data ends exactly at the end of the file (the last one's
// bytes are a multiple of 32), so that every proper prefix loses data.
std::vector<TensorToWrite> SomeTensors() {
  TensorToWrite q8{"blk.0.w", {32, 2}, GgmlType::kQ8_0, std::vector<uint8_t>(68)};
  for (size_t i = 0; i < q8.bytes.size(); ++i) q8.bytes[i] = static_cast<uint8_t>(i * 7);
  TensorToWrite f32{"norm", {8}, GgmlType::kF32, std::vector<uint8_t>(32, 0x3f)};
  return {q8, f32};
}

std::string WriteSample(const TempDir& dir, uint32_t alignment = 32) {
  const std::string path = dir.File("sample.gguf");
  const Status s = WriteGguf(path, EveryValueType(), SomeTensors(), alignment);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return path;
}

TEST(GgufFileTest, RoundTripsEveryValueTypeAndTensors) {
  for (uint32_t alignment : {32u, 64u}) {
    TempDir dir;
    const std::string path = WriteSample(dir, alignment);
    Result<GgufContents> read = ReadGguf(path);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    const GgufContents& c = read.value();
    EXPECT_EQ(c.version, 3u);
    EXPECT_EQ(c.alignment, alignment);
    const std::vector<KeyValue> expected = EveryValueType();
    ASSERT_EQ(c.kvs.size(), expected.size() + (alignment != 32 ? 1 : 0));
    for (size_t i = 0; i < expected.size(); ++i) {
      const Value& a = c.kvs[i].value;
      const Value& b = expected[i].value;
      EXPECT_EQ(c.kvs[i].key, expected[i].key);
      EXPECT_EQ(a.type, b.type) << expected[i].key;
      EXPECT_EQ(a.integer, b.integer) << expected[i].key;
      EXPECT_EQ(a.real, b.real) << expected[i].key;
      EXPECT_EQ(a.string, b.string) << expected[i].key;
      if (a.type == ValueType::kArray) {
        EXPECT_EQ(a.element_type, b.element_type) << expected[i].key;
        EXPECT_EQ(a.integers, b.integers) << expected[i].key;
        EXPECT_EQ(a.reals, b.reals) << expected[i].key;
        EXPECT_EQ(a.strings, b.strings) << expected[i].key;
      }
    }
    ASSERT_NE(FindValue(c, "str"), nullptr);
    EXPECT_EQ(FindValue(c, "str")->string, "héllo");
    EXPECT_EQ(FindValue(c, "missing"), nullptr);
    const std::vector<TensorToWrite> tensors = SomeTensors();
    ASSERT_EQ(c.tensors.size(), tensors.size());
    const std::string file = testing::ReadFile(path);
    EXPECT_EQ(c.file_bytes, file.size());
    EXPECT_EQ(c.data_offset % alignment, 0u);
    for (size_t i = 0; i < tensors.size(); ++i) {
      const TensorInfoRecord& t = c.tensors[i];
      EXPECT_EQ(t.name, tensors[i].name);
      EXPECT_EQ(t.dims, tensors[i].dims);
      EXPECT_EQ(t.type, static_cast<uint32_t>(tensors[i].type));
      EXPECT_EQ(t.bytes, tensors[i].bytes.size());
      EXPECT_EQ(t.offset % alignment, 0u);
      EXPECT_EQ(Bytes(file.substr(c.data_offset + t.offset, t.bytes)), tensors[i].bytes) << t.name;
    }
    // In memory, the same.
    Result<GgufContents> parsed = ParseGguf(reinterpret_cast<const uint8_t*>(file.data()), file.size(), "mem");
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->tensors.size(), tensors.size());
  }
}

TEST(GgufFileTest, WriterRefusesInconsistentTensorsAndLeavesNoFile) {
  TempDir dir;
  const std::string path = dir.File("bad.gguf");
  std::vector<TensorToWrite> tensors = SomeTensors();
  tensors[0].bytes.pop_back();
  Status s = WriteGguf(path, {}, tensors);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("blk.0.w"), std::string::npos) << s.message();
  EXPECT_FALSE(testing::Exists(path));
  tensors = SomeTensors();
  tensors[1].name = tensors[0].name;
  s = WriteGguf(path, {}, tensors);
  EXPECT_NE(s.message().find("duplicate tensor name"), std::string::npos) << s.message();
  s = WriteGguf(path, {{"k", Value::Bool(true)}, {"k", Value::Bool(false)}}, {});
  EXPECT_NE(s.message().find("duplicate key 'k'"), std::string::npos) << s.message();
  s = WriteGguf(path, {}, {}, 24);
  EXPECT_NE(s.message().find("power of two"), std::string::npos) << s.message();
  EXPECT_FALSE(testing::Exists(path));
}

TEST(GgufFileTest, EveryTruncationIsRefused) {
  TempDir dir;
  const std::string file = testing::ReadFile(WriteSample(dir));
  const uint8_t* data = reinterpret_cast<const uint8_t*>(file.data());
  for (size_t size = 0; size < file.size(); ++size) {
    Result<GgufContents> r = ParseGguf(data, size, "cut.gguf");
    ASSERT_FALSE(r.ok()) << "prefix of " << size << " bytes accepted";
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
    EXPECT_EQ(r.status().message().rfind("cut.gguf: ", 0), 0u) << r.status().message();
  }
  // The file reader on a truncated file, too.
  const std::string cut = dir.File("cut.gguf");
  testing::WriteFile(cut, file.substr(0, file.size() - 1));
  Result<GgufContents> r = ReadGguf(cut);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find("beyond"), std::string::npos) << r.status().message();
}

// Builds GGUF bytes field by field.
class Builder {
 public:
  Builder& U32(uint32_t v) { return Raw(&v, 4); }
  Builder& U64(uint64_t v) { return Raw(&v, 8); }
  Builder& Str(const std::string& s) { U64(s.size()); return Raw(s.data(), s.size()); }
  Builder& Raw(const void* p, size_t n) {
    bytes_.append(static_cast<const char*>(p), n);
    return *this;
  }
  Builder& Header(uint64_t tensors, uint64_t kvs, uint32_t version = 3) {
    return Raw("GGUF", 4).U32(version).U64(tensors).U64(kvs);
  }
  // One tensor info.
  Builder& Info(const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) U64(d);
    return U32(type).U64(offset);
  }
  Builder& PadTo(size_t alignment) {
    bytes_.resize((bytes_.size() + alignment - 1) / alignment * alignment, '\0');
    return *this;
  }
  Builder& Zeros(size_t n) {
    bytes_.append(n, '\0');
    return *this;
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

void ExpectRefused(const std::string& bytes, const std::string& expected_words) {
  Result<GgufContents> r = ParseGguf(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "hostile.gguf");
  ASSERT_FALSE(r.ok()) << expected_words;
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find(expected_words), std::string::npos) << r.status().message();
}

TEST(GgufFileTest, HostileHeadersAreRefused) {
  ExpectRefused("GGU", "not a GGUF file");
  ExpectRefused("GGML" + std::string(20, '\0'), "not a GGUF file");
  ExpectRefused(Builder().Header(0, 0, 1).bytes(), "version 1 is not supported");
  ExpectRefused(Builder().Header(0, 1ull << 60).bytes(), "key/value count 1152921504606846976 cannot fit");
  ExpectRefused(Builder().Header(1ull << 62, 0).bytes(), "tensor count");
  ExpectRefused(Builder().Header(0, 1).U64(1ull << 62).Zeros(20).bytes(), "runs beyond the end");
  ExpectRefused(Builder().Header(0, 1).Str("k").U32(13).Zeros(8).bytes(), "unknown value type 13");
  ExpectRefused(Builder().Header(0, 1).Str("k").U32(9).U32(4).U64(1ull << 61).Zeros(16).bytes(),
                "array of 2305843009213693952 elements cannot fit");
  ExpectRefused(Builder().Header(0, 1).Str("k").U32(9).U32(9).U64(1).Zeros(16).bytes(), "nested arrays");
  ExpectRefused(Builder().Header(0, 1).Str("k").U32(9).U32(8).U64(2).U64(1ull << 40).Zeros(8).bytes(),
                "k'[0] of 1099511627776 bytes runs beyond");
  ExpectRefused(Builder().Header(0, 1).Str("k").U32(7).Raw("\x05", 1).bytes(), "neither 0 nor 1");
  ExpectRefused(Builder().Header(0, 2).Str("k").U32(4).U32(1).Str("k").U32(4).U32(2).bytes(),
                "duplicate key 'k'");
  ExpectRefused(Builder().Header(0, 1).Str("general.alignment").U32(4).U32(24).bytes(),
                "general.alignment must be a uint32 power of two");
}

TEST(GgufFileTest, HostileTensorInfosAreRefused) {
  auto file = [](std::vector<uint64_t> dims, uint32_t type, uint64_t offset, size_t data) {
    return Builder().Header(1, 0).Info("t", dims, type, offset).PadTo(32).Zeros(data).bytes();
  };
  EXPECT_TRUE(ParseGguf(reinterpret_cast<const uint8_t*>(file({8}, 0, 0, 32).data()),
                        file({8}, 0, 0, 32).size(), "ok").ok());
  ExpectRefused(file({8}, 99, 0, 32), "unknown ggml type 99");
  ExpectRefused(file({8}, 4, 0, 32), "unknown ggml type 4");
  ExpectRefused(file({0}, 0, 0, 32), "dim 0 is 0, expected a positive size");
  ExpectRefused(file({1ull << 63}, 0, 0, 32), "expected a positive size");
  ExpectRefused(file({1ull << 32, 1ull << 32, 1ull << 32}, 0, 0, 32), "overflows");
  ExpectRefused(file({8, 1, 1, 1, 1}, 0, 0, 32), "has 5 dims");
  ExpectRefused(file({16}, 8, 0, 64), "not a multiple of the q8_0 block size 32");
  ExpectRefused(file({8}, 0, 16, 64), "offset 16 is not a multiple of the alignment 32");
  ExpectRefused(file({8}, 0, 0, 31), "lies beyond");
  ExpectRefused(file({8}, 0, 1ull << 63, 32), "lies beyond");
  ExpectRefused(Builder().Header(2, 0).Info("a", {16}, 0, 0).Info("b", {8}, 0, 32).PadTo(32).Zeros(64).bytes(),
                "tensor 'a' overlaps tensor 'b'");
  ExpectRefused(Builder().Header(2, 0).Info("a", {8}, 0, 0).Info("a", {8}, 0, 32).PadTo(32).Zeros(64).bytes(),
                "duplicate tensor name 'a'");
}

TEST(GgufFileTest, ReadGgufNamesUnreadableFiles) {
  TempDir dir;
  Result<GgufContents> r = ReadGguf(dir.File("missing.gguf"));
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(r.status().message().find("missing.gguf"), std::string::npos);
  r = ReadGguf(dir.path());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
}

}  // namespace
}  // namespace pq::gguf
