// The hostile-input suite through the pq binary (issue 9): every case checks
// the exit code, a one-line error (or a clean success), that no output is
// left behind, and that the inputs are byte-for-byte unchanged. Cases already
// covered elsewhere (random bytes, truncation, ../, absolute paths, symlinks,
// bad dims, cycles, .npy/.npz refusals, ...) live in tests/io, tests/data and
// tests/cli/cli_test.cc; this file holds the rest.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>

#include "onnx/onnx_pb.h"
#include "pq/model.h"
#include "pq/npy.h"
#include "pq/tensor.h"
#include "testutil/model_builder.h"
#include "testutil/cli_expect.h"
#include "testutil/refusal_expect.h"
#include "testutil/temp_dir.h"
#include "util/sha256.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::ExpectRefusedAndUntouched;
using testing::HashFiles;
using testing::kExitGateFailed;
using testing::kExitInvalidInput;
using testing::kExitOk;
using testing::kExitOutput;
using testing::kExitUsage;
using testing::RunPq;
using testing::TempDir;

// The tmpfs that fills up: far smaller than any model written to it.
constexpr const char* kTinyTmpfsOptions = "size=64k";

onnx::ModelProto ExternalWeightModel(const std::string& location, const std::string& offset,
                                     const std::string& length) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  auto* w = proto.mutable_graph()->mutable_initializer(0);
  w->clear_raw_data();
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"location", location}, {"offset", offset}, {"length", length}}) {
    auto* e = w->add_external_data();
    e->set_key(key);
    e->set_value(value);
  }
  return proto;
}

// TinyMatMulModel with W's raw data replaced by `w` (4 x 3 floats).
onnx::ModelProto MatMulWithWeights(const std::vector<float>& w) {
  onnx::ModelProto proto = testing::TinyMatMulModel();
  *proto.mutable_graph()->mutable_initializer(0) = testing::FloatTensor("W", {4, 3}, w);
  return proto;
}

// Names in `path` (a folder), sorted; "." and ".." left out.
std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(path)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The scales (float initializers named "*scale*") of a quantized model.
std::vector<float> Scales(const std::string& path) {
  Result<std::unique_ptr<Model>> model = Model::Load(path);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  std::vector<float> scales;
  if (!model.ok()) return scales;
  for (const ConstantTensor& c : model.value()->constants()) {
    if (c.data_type != 1 || c.name.find("scale") == std::string::npos) continue;
    for (int64_t i = 0; i < c.element_count; ++i) {
      float v;
      std::memcpy(&v, c.data + i * 4, 4);
      scales.push_back(v);
    }
  }
  return scales;
}

// Every scale is finite and positive (or, with `allow_zero`, non-negative).
void ExpectSaneScales(const std::string& path, bool allow_zero = false) {
  const std::vector<float> scales = Scales(path);
  EXPECT_FALSE(scales.empty());
  for (float s : scales) {
    EXPECT_TRUE(std::isfinite(s) && (s > 0 || (allow_zero && s == 0))) << "scale " << s;
  }
}

// --- models ---------------------------------------------------------------

TEST(HostileInputsTest, HardLinkedExternalDataIsRefused) {
  TempDir outside;
  TempDir dir;
  testing::WriteFile(outside.File("secret.bin"), std::string(48, '\x11'));
  ASSERT_EQ(link(outside.File("secret.bin").c_str(), dir.File("w.bin").c_str()), 0);
  testing::SaveProto(ExternalWeightModel("w.bin", "0", "48"), dir.File("m.onnx"));
  ExpectRefusedAndUntouched(dir, {"inspect", dir.File("m.onnx")}, kExitInvalidInput, "hard link");
  ExpectRefusedAndUntouched(dir, {"convert", dir.File("m.onnx"), "-o", dir.File("out.onnx")},
                            kExitInvalidInput, "hard link");
  ExpectRefusedAndUntouched(
      dir, {"quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"), "--weights-only"},
      kExitInvalidInput, "hard link");
}

TEST(HostileInputsTest, OffsetPlusLengthThatOverflowsIsRefused) {
  const std::string max = std::to_string(std::numeric_limits<int64_t>::max());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"16", max},                            // offset + length wraps around
      {max, "48"},                            // offset far past the end
      {"48", "9223372036854775800"},          // exactly at the end, then huge
  };
  for (const auto& [offset, length] : cases) {
    SCOPED_TRACE(offset + " + " + length);
    TempDir dir;
    testing::WriteFile(dir.File("w.bin"), std::string(64, '\0'));
    testing::SaveProto(ExternalWeightModel("w.bin", offset, length), dir.File("m.onnx"));
    ExpectRefusedAndUntouched(dir, {"inspect", dir.File("m.onnx")}, kExitInvalidInput,
                              "past the end");
    ExpectRefusedAndUntouched(dir, {"convert", dir.File("m.onnx"), "-o", dir.File("out.onnx")},
                              kExitInvalidInput, "past the end");
  }
}

TEST(HostileInputsTest, ModelOverTwoGiBWithoutExternalDataIsRefusedUnread) {
  TempDir dir;
  // A sparse file: 2 GiB + a little, no data blocks written.
  const int fd = open(dir.File("big.onnx").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, (int64_t{2} << 30) + 4096), 0);
  close(fd);
  struct stat before;
  ASSERT_EQ(stat(dir.File("big.onnx").c_str(), &before), 0);
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"inspect", dir.File("big.onnx")},
        std::vector<std::string>{"convert", dir.File("big.onnx"), "-o", dir.File("out.onnx")},
        std::vector<std::string>{"quantize", dir.File("big.onnx"), "-o", dir.File("q.onnx"),
                                 "--weights-only"}}) {
    ExpectRefusal(RunPq(args), kExitInvalidInput, "2 GiB");
  }
  EXPECT_EQ(dir.List(), std::vector<std::string>{"big.onnx"});
  // Hashing 2 GiB of zeros would dominate the suite; size, blocks and mtime
  // show that nothing wrote to the file.
  struct stat after;
  ASSERT_EQ(stat(dir.File("big.onnx").c_str(), &after), 0);
  EXPECT_EQ(after.st_size, before.st_size);
  EXPECT_EQ(after.st_blocks, before.st_blocks);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
}

// --- numbers --------------------------------------------------------------

TEST(HostileInputsTest, InfiniteWeightsAreRefusedNamingTheTensor) {
  for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()}) {
    SCOPED_TRACE(bad);
    TempDir dir;
    std::vector<float> w(12, 0.25f);
    w[7] = bad;
    testing::SaveProto(MatMulWithWeights(w), dir.File("m.onnx"));
    for (const char* scheme : {"int8-sym", "int8-asym"}) {
      ExpectRefusedAndUntouched(dir,
                                {"quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"),
                                 "--scheme", scheme, "--weights-only"},
                                kExitInvalidInput, "'W'");
    }
  }
}

TEST(HostileInputsTest, AllZeroChannelQuantizesWithFiniteScales) {
  TempDir dir;
  // W is [4, 3]; MatMul's per-channel axis is the output column: column 1 is 0.
  std::vector<float> w = {0.5f, 0, -1, 0.25f, 0, 2, -0.75f, 0, 1, 1.5f, 0, -2};
  testing::SaveProto(MatMulWithWeights(w), dir.File("m.onnx"));
  const auto inputs = HashFiles(dir);
  for (const char* scheme : {"int8-sym", "int8-asym"}) {
    SCOPED_TRACE(scheme);
    const std::string out = dir.File(std::string(scheme) + ".onnx");
    CliRun run = RunPq({"-q", "quantize", dir.File("m.onnx"), "-o", out, "--scheme", scheme,
                        "--weights-only"});
    ASSERT_EQ(run.exit_code, kExitOk) << run.err;
    EXPECT_EQ(run.err, "");
    ExpectSaneScales(out);
  }
  EXPECT_EQ(HashFiles(dir).at("m.onnx"), inputs.at("m.onnx"));
}

TEST(HostileInputsTest, ConstantActivationQuantizesWithFiniteScales) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  // Every calibration sample is the same constant: min = max for X.
  Tensor x = Tensor::Allocate(kFloat, {8, 4}).value();
  for (int64_t i = 0; i < 32; ++i) static_cast<float*>(x.raw())[i] = 0.5f;
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(x));
  // And all zeros: min = max = 0.
  Tensor zeros = Tensor::Allocate(kFloat, {8, 4}).value();
  testing::WriteFile(dir.File("zeros.npy"), EncodeNpy(zeros));
  const auto inputs = HashFiles(dir);
  for (const char* calib : {"x.npy", "zeros.npy"}) {
    for (const char* scheme : {"int8-sym", "int8-asym"}) {
      SCOPED_TRACE(std::string(calib) + " " + scheme);
      const std::string out = dir.File(std::string("q_") + calib + scheme + ".onnx");
      CliRun run = RunPq({"-q", "quantize", dir.File("m.onnx"), "-o", out, "--scheme", scheme,
                          "--calib", dir.File(calib)});
      ASSERT_EQ(run.exit_code, kExitOk) << run.err;
      ExpectSaneScales(out);
      CliRun ran = RunPq({"-q", "run", out, "--data", dir.File(calib), "-o", out + ".npz"});
      EXPECT_EQ(ran.exit_code, kExitOk) << ran.err;
    }
  }
  for (const auto& [name, hash] : inputs) EXPECT_EQ(HashFiles(dir).at(name), hash) << name;
}

TEST(HostileInputsTest, DenormalWeightsQuantizeWithFiniteScales) {
  TempDir dir;
  const float tiny = std::numeric_limits<float>::denorm_min();
  std::vector<float> w(12);
  for (int i = 0; i < 12; ++i) w[i] = (i % 2 == 0 ? 1 : -1) * tiny * static_cast<float>(i + 1);
  testing::SaveProto(MatMulWithWeights(w), dir.File("m.onnx"));
  Tensor x = Tensor::Allocate(kFloat, {2, 4}).value();
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(x));
  const auto inputs = HashFiles(dir);
  for (const char* granularity : {"per-channel", "per-tensor"}) {
    for (const char* scheme : {"int8-sym", "int8-asym"}) {
      SCOPED_TRACE(std::string(scheme) + " " + granularity);
      const std::string out = dir.File(std::string(scheme) + granularity + ".onnx");
      CliRun run = RunPq({"-q", "quantize", dir.File("m.onnx"), "-o", out, "--scheme", scheme,
                          "--weights-only", "--granularity", granularity});
      ASSERT_EQ(run.exit_code, kExitOk) << run.err;
      // Scales are clamped to the smallest normal float: never zero.
      ExpectSaneScales(out, /*allow_zero=*/false);
      CliRun ran = RunPq({"-q", "run", out, "--data", dir.File("x.npy"), "-o", out + ".npz"});
      EXPECT_EQ(ran.exit_code, kExitOk) << ran.err;
    }
  }
  EXPECT_EQ(HashFiles(dir).at("m.onnx"), inputs.at("m.onnx"));
}

TEST(HostileInputsTest, EmptyTensorsLoadRunAndQuantize) {
  TempDir dir;
  // Y = MatMul(X, W) + B with W [4, 0] and B [0]: a zero dimension.
  onnx::ModelProto proto = testing::TinyMatMulModel();
  auto* graph = proto.mutable_graph();
  *graph->mutable_initializer(0) = testing::FloatTensor("W", {4, 0}, {});
  *graph->mutable_initializer(1) = testing::FloatTensor("B", {0}, {});
  *graph->mutable_output(0) = testing::FloatValueInfo("Y", {-1, 0});
  testing::SaveProto(proto, dir.File("m.onnx"));
  Tensor x = Tensor::Allocate(kFloat, {2, 4}).value();
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(x));
  const auto inputs = HashFiles(dir);
  CliRun inspect = RunPq({"inspect", dir.File("m.onnx")});
  EXPECT_EQ(inspect.exit_code, kExitOk) << inspect.err;
  CliRun run = RunPq({"-q", "run", dir.File("m.onnx"), "--data", dir.File("x.npy"), "-o",
                      dir.File("y.npz")});
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  CliRun quantized = RunPq({"-q", "quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"),
                            "--weights-only"});
  EXPECT_EQ(quantized.exit_code, kExitOk) << quantized.err;
  EXPECT_EQ(testing::CountLines(quantized.err), 0) << quantized.err;
  for (const auto& [name, hash] : inputs) EXPECT_EQ(HashFiles(dir).at(name), hash) << name;
}

// --- outputs --------------------------------------------------------------

TEST(HostileInputsTest, UnwritableOutputFolderExitsFive) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  Tensor x = Tensor::Allocate(kFloat, {2, 4}).value();
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(x));
  // /proc refuses new files even to root.
  ExpectRefusedAndUntouched(dir, {"convert", dir.File("m.onnx"), "-o", "/proc/pq_out.onnx"},
                            kExitOutput, "/proc/pq_out.onnx");
  ExpectRefusedAndUntouched(
      dir, {"quantize", dir.File("m.onnx"), "-o", "/proc/pq_q.onnx", "--weights-only"},
      kExitOutput, "/proc/pq_q");
  ExpectRefusedAndUntouched(
      dir, {"run", dir.File("m.onnx"), "--data", dir.File("x.npy"), "-o", "/proc/pq_y.npz"},
      kExitOutput, "/proc/pq_y.npz");
  EXPECT_FALSE(testing::Exists("/proc/pq_out.onnx"));
}

// A tiny tmpfs mounted for one test and unmounted (lazily) after it.
class TinyTmpfs {
 public:
  explicit TinyTmpfs(const std::string& path) : path_(path) {
    mkdir(path.c_str(), 0700);
    if (mount("tmpfs", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, kTinyTmpfsOptions) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TinyTmpfs() {
    if (mounted_) umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string path_;
  bool mounted_ = false;
  std::string error_;
};

TEST(HostileInputsTest, DiskFullDuringWriteExitsFiveAndLeavesNothing) {
  TempDir dir;
  const std::string model = testing::ModelsDir() + "/fashion_cnn.onnx";  // ~1.7 MB
  const std::string calib = testing::ModelsDir() + "/calib_images.npy";
  Result<std::string> model_hash = Sha256File(model);
  ASSERT_TRUE(model_hash.ok());
  TinyTmpfs full(dir.File("full"));
  if (!full.mounted()) {
    GTEST_SKIP() << "cannot mount a tmpfs (" << full.error()
                 << "): needs root with CAP_SYS_ADMIN; the disk-full case is not tested";
  }
  // Fill the tmpfs but for a few KiB, so that even small outputs hit ENOSPC.
  testing::WriteFile(dir.File("full/filler"), std::string(60 * 1024, '\0'));
  const std::vector<std::string> before = ListDir(dir.File("full"));
  ASSERT_EQ(before, std::vector<std::string>{"filler"});
  ExpectRefusal(RunPq({"convert", model, "-o", dir.File("full/out.onnx")}), kExitOutput,
                "No space left on device");
  EXPECT_EQ(ListDir(dir.File("full")), before);
  ExpectRefusal(RunPq({"convert", model, "-o", dir.File("full/ext.onnx"), "--external-data"}),
                kExitOutput, "ext.onnx");
  EXPECT_EQ(ListDir(dir.File("full")), before);
  ExpectRefusal(RunPq({"-q", "quantize", model, "-o", dir.File("full/q.onnx"), "--weights-only"}),
                kExitOutput, "q.onnx");
  EXPECT_EQ(ListDir(dir.File("full")), before);
  ExpectRefusal(RunPq({"-q", "run", model, "--data", calib, "-o", dir.File("full/y.npz")}),
                kExitOutput, "y.npz");
  EXPECT_EQ(ListDir(dir.File("full")), before);
  EXPECT_EQ(Sha256File(model).value(), model_hash.value());
}

// --- resource bounds --------------------------------------------------------

TEST(HostileInputsTest, TensorLargerThanMemoryIsRefusedBeforeAllocating) {
  TempDir dir;
  // Y = ConstantOfShape([2^20, 2^20, 2^10]) + X: 4 PiB of float.
  onnx::ModelProto proto;
  proto.set_ir_version(8);
  proto.add_opset_import()->set_version(13);
  auto* graph = proto.mutable_graph();
  graph->set_name("huge");
  onnx::TensorProto shape;
  shape.set_name("shape");
  shape.set_data_type(onnx::TensorProto::INT64);
  shape.add_dims(3);
  for (int64_t d : {int64_t{1} << 20, int64_t{1} << 20, int64_t{1} << 10}) shape.add_int64_data(d);
  *graph->add_initializer() = shape;
  auto* fill = graph->add_node();
  fill->set_op_type("ConstantOfShape");
  fill->set_name("fill");
  fill->add_input("shape");
  fill->add_output("big");
  auto* add = graph->add_node();
  add->set_op_type("Add");
  add->set_name("add");
  add->add_input("big");
  add->add_input("X");
  add->add_output("Y");
  *graph->add_input() = testing::FloatValueInfo("X", {1});
  *graph->add_output() = testing::FloatValueInfo("Y", {1 << 20, 1 << 20, 1 << 10});
  testing::SaveProto(proto, dir.File("m.onnx"));
  Tensor x = Tensor::Allocate(kFloat, {1, 1}).value();
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(x));
  ExpectRefusedAndUntouched(
      dir, {"run", dir.File("m.onnx"), "--data", dir.File("x.npy"), "-o", dir.File("y.npz")},
      kExitInvalidInput, "more than this machine's memory");
}

}  // namespace
}  // namespace pq
