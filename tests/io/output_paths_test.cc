// Direct tests of src/io/output_paths.cc: CheckOutputPaths refuses an output
// that is an input (whatever its spelling, even with force) and, without
// force, an existing file or link; it accepts new paths.
#include <gtest/gtest.h>

#include <filesystem>

#include "pq/model.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

bool Mentions(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

class OutputPathsTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::WriteFile(dir_.File("in.onnx"), "model"); }
  void ExpectRefused(const Status& s, const std::string& path, const std::string& why) {
    ASSERT_FALSE(s.ok()) << path;
    EXPECT_EQ(s.code(), Status::Code::kOutputError);
    EXPECT_TRUE(Mentions(s.message(), path)) << s.message();
    EXPECT_TRUE(Mentions(s.message(), why)) << s.message();
  }
  testing::TempDir dir_;
};

TEST_F(OutputPathsTest, NewPathsAreAccepted) {
  EXPECT_TRUE(CheckOutputPaths({dir_.File("a.onnx"), dir_.File("a.report.json")}, {dir_.File("in.onnx")}, false).ok());
  EXPECT_TRUE(CheckOutputPaths({}, {dir_.File("in.onnx")}, false).ok());
}

// The report written over the model (or two spellings of one file) would
// lose one of them: refused even with force, before any input check.
TEST_F(OutputPathsTest, TwoOutputsInOneFileAreRefused) {
  const std::string out = dir_.File("q.onnx");
  ExpectRefused(CheckOutputPaths({out, out}, {dir_.File("in.onnx")}, true), out, "another output");
  ExpectRefused(CheckOutputPaths({out, dir_.path() + "/./q.onnx"}, {dir_.File("in.onnx")}, true),
                out, "another output");
}

TEST_F(OutputPathsTest, AnInputIsNeverOverwritten) {
  const std::string in = dir_.File("in.onnx");
  ExpectRefused(CheckOutputPaths({in}, {in}, true), in, "is an input");
  const std::string other_spelling = dir_.path() + "/./in.onnx";
  ExpectRefused(CheckOutputPaths({other_spelling}, {in}, true), other_spelling, "is an input");
  std::filesystem::create_symlink(in, dir_.File("link.onnx"));
  ExpectRefused(CheckOutputPaths({dir_.File("link.onnx")}, {in}, true), dir_.File("link.onnx"), "is an input");
}

// Inputs are checked first: an existing output that is an input says so.
TEST_F(OutputPathsTest, InputCheckComesBeforeExistence) {
  testing::WriteFile(dir_.File("old.onnx"), "x");
  const std::string in = dir_.File("in.onnx");
  ExpectRefused(CheckOutputPaths({dir_.File("old.onnx"), in}, {in}, false), in, "is an input");
}

TEST_F(OutputPathsTest, ExistingOutputNeedsForce) {
  testing::WriteFile(dir_.File("old.onnx"), "x");
  const std::string old = dir_.File("old.onnx");
  ExpectRefused(CheckOutputPaths({dir_.File("new.onnx"), old}, {dir_.File("in.onnx")}, false), old,
                "already exists");
  EXPECT_TRUE(CheckOutputPaths({old}, {dir_.File("in.onnx")}, true).ok());
  std::filesystem::create_symlink(dir_.File("nowhere"), dir_.File("dangling.onnx"));
  ExpectRefused(CheckOutputPaths({dir_.File("dangling.onnx")}, {}, false), dir_.File("dangling.onnx"),
                "already exists");
}

}  // namespace
}  // namespace pq
