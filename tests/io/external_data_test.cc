#include "io/external_data.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include "onnx/onnx_pb.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::TempDir;
using testing::WriteFile;

onnx::TensorProto ExternalTensor(const std::string& location, const std::string& offset,
                                 const std::string& length, int64_t elements) {
  onnx::TensorProto t;
  t.set_name("w");
  t.set_data_type(onnx::TensorProto::FLOAT);
  t.add_dims(elements);
  t.set_data_location(onnx::TensorProto::EXTERNAL);
  auto* e = t.add_external_data();
  e->set_key("location");
  e->set_value(location);
  if (!offset.empty()) {
    e = t.add_external_data();
    e->set_key("offset");
    e->set_value(offset);
  }
  if (!length.empty()) {
    e = t.add_external_data();
    e->set_key("length");
    e->set_value(length);
  }
  return t;
}

TEST(ExternalLocationTest, AcceptsPlainRelativeLocations) {
  EXPECT_TRUE(CheckExternalLocation("weights.bin").ok());
  EXPECT_TRUE(CheckExternalLocation("data/weights.bin").ok());
  EXPECT_TRUE(CheckExternalLocation("./weights.bin").ok());
}

TEST(ExternalLocationTest, RefusesEscapes) {
  EXPECT_EQ(CheckExternalLocation("../x").code(), Status::Code::kInvalidInput);
  EXPECT_EQ(CheckExternalLocation("a/../../x").code(), Status::Code::kInvalidInput);
  EXPECT_EQ(CheckExternalLocation("/etc/passwd").code(), Status::Code::kInvalidInput);
  EXPECT_EQ(CheckExternalLocation("..\\x").code(), Status::Code::kInvalidInput);
  EXPECT_EQ(CheckExternalLocation("").code(), Status::Code::kInvalidInput);
  EXPECT_NE(CheckExternalLocation("../x").message().find("'..'"), std::string::npos);
}

class ExternalDataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string bytes(64, '\0');
    for (int i = 0; i < 16; ++i) {
      const float v = static_cast<float>(i);
      std::memcpy(&bytes[static_cast<size_t>(i) * 4], &v, 4);
    }
    WriteFile(dir_.File("w.bin"), bytes);
  }
  Result<const uint8_t*> Resolve(const onnx::TensorProto& t, int64_t expected) {
    ExternalDataStore store(dir_.path(), "m.onnx");
    Result<const uint8_t*> r = store.Resolve(t, "w", expected);
    if (r.ok()) {  // copy out the first float while the mapping lives
      std::memcpy(&first_, r.value(), sizeof(float));
    }
    return r;
  }
  TempDir dir_;
  float first_ = -1;
};

TEST_F(ExternalDataStoreTest, ResolvesOffsetAndLength) {
  Result<const uint8_t*> r = Resolve(ExternalTensor("w.bin", "16", "32", 8), 32);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(first_, 4.0f);
}

TEST_F(ExternalDataStoreTest, LengthDefaultsToTheRestOfTheFile) {
  EXPECT_TRUE(Resolve(ExternalTensor("w.bin", "", "", 16), 64).ok());
}

TEST_F(ExternalDataStoreTest, RefusesRangePastTheEnd) {
  Result<const uint8_t*> r = Resolve(ExternalTensor("w.bin", "48", "32", 8), 32);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("past the end"), std::string::npos);
  EXPECT_FALSE(Resolve(ExternalTensor("w.bin", "65", "", 0), 0).ok());
}

TEST_F(ExternalDataStoreTest, RefusesLengthThatOverflowsWhenAdded) {
  Result<const uint8_t*> r =
      Resolve(ExternalTensor("w.bin", "16", "9223372036854775800", 8), 32);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("past the end"), std::string::npos);
}

TEST_F(ExternalDataStoreTest, RefusesLengthThatDoesNotMatchDims) {
  Result<const uint8_t*> r = Resolve(ExternalTensor("w.bin", "0", "16", 8), 32);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not match"), std::string::npos);
}

TEST_F(ExternalDataStoreTest, RefusesNonNumericOffset) {
  EXPECT_FALSE(Resolve(ExternalTensor("w.bin", "-4", "", 16), 64).ok());
  EXPECT_FALSE(Resolve(ExternalTensor("w.bin", "4x", "", 16), 64).ok());
}

TEST_F(ExternalDataStoreTest, RefusesMissingFile) {
  Result<const uint8_t*> r = Resolve(ExternalTensor("nope.bin", "", "", 16), 64);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("does not exist"), std::string::npos);
}

TEST_F(ExternalDataStoreTest, RefusesSymlinkAsFinalComponent) {
  ASSERT_EQ(symlink(dir_.File("w.bin").c_str(), dir_.File("link.bin").c_str()), 0);
  Result<const uint8_t*> r = Resolve(ExternalTensor("link.bin", "", "", 16), 64);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("symbolic link"), std::string::npos);
}

TEST_F(ExternalDataStoreTest, RefusesSymlinkedParentFolder) {
  TempDir outside;
  WriteFile(outside.File("w.bin"), std::string(64, 'x'));
  ASSERT_EQ(symlink(outside.path().c_str(), dir_.File("sub").c_str()), 0);
  Result<const uint8_t*> r = Resolve(ExternalTensor("sub/w.bin", "", "", 16), 64);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("symbolic link"), std::string::npos);
}

TEST_F(ExternalDataStoreTest, RefusesHardLinkedFile) {
  ASSERT_EQ(link(dir_.File("w.bin").c_str(), dir_.File("hard.bin").c_str()), 0);
  Result<const uint8_t*> r = Resolve(ExternalTensor("hard.bin", "", "", 16), 64);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("hard link"), std::string::npos);
}

TEST_F(ExternalDataStoreTest, RefusesTraversalBeforeTouchingTheFileSystem) {
  Result<const uint8_t*> r = Resolve(ExternalTensor("../w.bin", "", "", 16), 64);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidInput);
}

}  // namespace
}  // namespace pq
