// Tests of src/data/npy.cc: valid files of every supported layout, and the
// hostile files the reader must refuse with a clear message.
#include "pq/npy.h"

#include <gtest/gtest.h>

#include <cstring>

#include "exec/kernel_test_util.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

// Builds an .npy image with the given dict text and payload.
std::string Npy(const std::string& dict, const std::string& payload, int major = 1) {
  std::string header = dict;
  header.push_back('\n');
  std::string out = std::string("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  if (major == 1) {
    out.push_back(static_cast<char>(header.size() & 0xff));
    out.push_back(static_cast<char>(header.size() >> 8));
  } else {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  }
  return out + header + payload;
}

std::string Floats(const std::vector<float>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * 4);
}

Result<Tensor> ReadAll(const std::string& image) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("a.npy"), image);
  Result<std::unique_ptr<NpyFile>> file = NpyFile::Open(dir.File("a.npy"));
  if (!file.ok()) return file.status();
  const auto& shape = file.value()->header().shape;
  return file.value()->Rows(0, shape.empty() ? 1 : shape[0]);
}

void ExpectRefused(const std::string& image, const std::string& fragment) {
  Result<Tensor> t = ReadAll(image);
  ASSERT_FALSE(t.ok()) << "expected a refusal mentioning " << fragment;
  EXPECT_NE(t.status().message().find(fragment), std::string::npos) << t.status().message();
  EXPECT_NE(t.status().message().find("a.npy"), std::string::npos) << "must name the file";
}

TEST(NpyTest, ReadsCOrderFloat) {
  Result<Tensor> t = ReadAll(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                 Floats({1, 2, 3, 4, 5, 6})));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(testing::Values(*t), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(NpyTest, HonoursFortranOrder) {
  // Column-major storage of [[1, 2, 3], [4, 5, 6]].
  Result<Tensor> t = ReadAll(Npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                                 Floats({1, 4, 2, 5, 3, 6})));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(testing::Values(*t), (std::vector<double>{1, 2, 3, 4, 5, 6}));
}

TEST(NpyTest, SwapsBigEndian) {
  std::string payload;
  for (int32_t v : {1, -2, 300}) {
    for (int b = 3; b >= 0; --b) payload.push_back(static_cast<char>((static_cast<uint32_t>(v) >> (8 * b)) & 0xff));
  }
  Result<Tensor> t = ReadAll(Npy("{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }", payload));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->dtype(), kInt32);
  EXPECT_EQ(testing::Values(*t), (std::vector<double>{1, -2, 300}));
}

TEST(NpyTest, ConvertsDoubleAndHalfToFloat) {
  std::vector<double> d = {0.5, -1.25};
  Result<Tensor> t = ReadAll(Npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                                 std::string(reinterpret_cast<const char*>(d.data()), 16)));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->dtype(), kFloat);
  EXPECT_EQ(testing::Values(*t), (std::vector<double>{0.5, -1.25}));
  // float16 1.0 = 0x3c00, -2.0 = 0xc000.
  Result<Tensor> h = ReadAll(Npy("{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }",
                                 std::string("\x00\x3c\x00\xc0", 4)));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(testing::Values(*h), (std::vector<double>{1.0, -2.0}));
}

TEST(NpyTest, ReadsVersion2Headers) {
  Result<Tensor> t = ReadAll(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                                 Floats({7}), 2));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(testing::Values(*t), (std::vector<double>{7}));
}

TEST(NpyTest, RoundTripsThroughTheWriter) {
  Tensor original = testing::Int64s({2, 2}, {1, -2, 3, 1LL << 40});
  Result<Tensor> back = ReadAll(EncodeNpy(original));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->shape(), original.shape());
  EXPECT_EQ(std::memcmp(back->raw(), original.raw(), 32), 0);
  EXPECT_EQ(EncodeNpy(original).size() % 64, 32u) << "header padded to 64 bytes, then 32 data";
}

TEST(NpyTest, RefusesWrongMagic) { ExpectRefused("PK\x03\x04 not npy at all", "bad magic"); }

TEST(NpyTest, RefusesOversizedHeader) {
  std::string image = std::string("\x93NUMPY\x02\x00", 8) + std::string("\x00\x00\x10\x00", 4);
  image += std::string(1 << 20, ' ');
  ExpectRefused(image, "exceeds the limit");
}

TEST(NpyTest, RefusesObjectArrays) {
  ExpectRefused(Npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", "\x80\x04"),
                "never unpickles");
}

TEST(NpyTest, RefusesStructuredDtypes) {
  ExpectRefused(Npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "1234"),
                "structured");
}

TEST(NpyTest, RefusesTruncatedAndOverlongData) {
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", Floats({1, 2})),
                "truncated");
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Floats({1, 2})),
                "needs 4");
}

TEST(NpyTest, RefusesShapesThatOverflow) {
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                    ""),
                "overflows");
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }",
                    ""),
                "overflows");
}

TEST(NpyTest, RefusesMalformedHeaders) {
  ExpectRefused(Npy("{'descr': '<f4', 'shape': (1,), }", Floats({1})), "fortran_order");
  ExpectRefused(Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ""),
                "non-negative");
  ExpectRefused(Npy("[1, 2]", ""), "not a dict");
  ExpectRefused(Npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "12345678"),
                "not supported");
}

TEST(NpyTest, RefusesTruncatedHeader) {
  std::string image = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", Floats({1}));
  ExpectRefused(image.substr(0, 20), "truncated");
}

}  // namespace
}  // namespace pq
