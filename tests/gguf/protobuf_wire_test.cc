#include "gguf/protobuf_wire.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace pq::gguf {
namespace {

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// Reads every field of `bytes`, or returns the first error.
Status ReadAll(const std::string& bytes, std::vector<WireField>* fields) {
  WireReader reader(bytes);
  while (!reader.AtEnd()) {
    WireField f;
    PQ_RETURN_IF_ERROR(reader.Next(&f));
    if (f.number != 0) fields->push_back(f);
  }
  return Status::OK();
}

TEST(ProtobufWire, ReadsEveryWireType) {
  // 1: varint 300; 2: "hi"; 3: fixed32 0x01020304; 4: fixed64 1; 5: varint -1.
  const std::string bytes =
      Bytes({0x08, 0xAC, 0x02, 0x12, 0x02, 'h', 'i', 0x1D, 0x04, 0x03, 0x02, 0x01,
             0x21, 1, 0, 0, 0, 0, 0, 0, 0,
             0x28, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  std::vector<WireField> f;
  ASSERT_TRUE(ReadAll(bytes, &f).ok());
  ASSERT_EQ(f.size(), 5u);
  EXPECT_EQ(f[0].number, 1u);
  EXPECT_EQ(f[0].varint, 300u);
  EXPECT_EQ(f[1].type, WireType::kLengthDelimited);
  EXPECT_EQ(f[1].bytes, "hi");
  EXPECT_EQ(f[1].offset, 5u);
  EXPECT_EQ(f[2].fixed, 0x01020304u);
  EXPECT_EQ(f[3].fixed, 1u);
  EXPECT_EQ(VarintToInt32(f[4].varint), -1);
}

TEST(ProtobufWire, SkipsNestedGroups) {
  // 7: start group { 8: start group { 1: varint 5 } 8: end } 7: end; then 2: varint 9.
  const std::string bytes = Bytes({0x3B, 0x43, 0x08, 0x05, 0x44, 0x3C, 0x10, 0x09});
  std::vector<WireField> f;
  ASSERT_TRUE(ReadAll(bytes, &f).ok());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].number, 2u);
  EXPECT_EQ(f[0].varint, 9u);
}

TEST(ProtobufWire, RefusesMalformedBytes) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {Bytes({0x08}), "varint cut off"},
      {Bytes({0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}), "beyond 64 bits"},
      {Bytes({0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x00}),
       "longer than 10 bytes"},
      {Bytes({0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}),
       "longer than 10 bytes"},
      {Bytes({0x12, 0x05, 'a', 'b'}), "length 5 beyond the 2 bytes left"},
      {Bytes({0x12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), "beyond the"},
      {Bytes({0x1D, 0x01, 0x02}), "cut off"},
      {Bytes({0x21, 0x01}), "cut off"},
      {Bytes({0x00, 0x00}), "field number 0"},
      {Bytes({0x0E}), "wire type 6"},
      {Bytes({0x0F}), "wire type 7"},
      {Bytes({0x0C}), "without its start"},
      {Bytes({0x0B, 0x08, 0x01}), "not closed"},
      {Bytes({0x0B, 0x14}), "closes the group of field 1"},
  };
  for (const auto& [bytes, fragment] : cases) {
    std::vector<WireField> f;
    const Status status = ReadAll(bytes, &f);
    EXPECT_EQ(status.code(), Status::Code::kInvalidInput) << fragment;
    EXPECT_NE(status.message().find(fragment), std::string::npos) << status.message();
    EXPECT_EQ(status.message().rfind("at byte ", 0), 0u) << status.message();
  }
}

TEST(ProtobufWire, NestedReaderReportsAbsoluteOffsets) {
  // 1: { 2: length 9 with 1 byte left }, at byte 2 of the outer message.
  const std::string bytes = Bytes({0x0A, 0x03, 0x12, 0x09, 'x'});
  WireReader outer(bytes);
  WireField f;
  ASSERT_TRUE(outer.Next(&f).ok());
  WireReader inner(f.bytes, f.offset);
  WireField g;
  const Status status = inner.Next(&g);
  EXPECT_EQ(status.message().rfind("at byte 4: ", 0), 0u) << status.message();
}

}  // namespace
}  // namespace pq::gguf
