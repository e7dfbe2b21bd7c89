// End-to-end tests of `pq quantize` and `pq schemes`: outputs, exit codes,
// one-line errors, no partial output, --config, --json.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "onnx/onnx_pb.h"
#include "pq/npy.h"
#include "testutil/model_builder.h"
#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::CliRun;
using testing::ExpectRefusal;
using testing::kExitGateFailed;
using testing::kExitInvalidInput;
using testing::kExitOk;
using testing::kExitOutput;
using testing::kExitUsage;
using testing::ReadFile;
using testing::RunPq;
using testing::TempDir;


std::string Cnn() { return testing::ModelsDir() + "/fashion_cnn.onnx"; }
std::string Calib() { return testing::ModelsDir() + "/calib_images.npy"; }

TEST(QuantizeCliTest, WritesModelAndReportAndSaysWhere) {
  TempDir dir;
  CliRun run = RunPq({"-q", "quantize", Cnn(), "-o", dir.File("q.onnx"), "--scheme", "int8-asym",
                      "--calib", Calib(), "--calib-samples", "32", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json doc = nlohmann::json::parse(run.out);
  EXPECT_EQ(doc["model"], dir.File("q.onnx"));
  EXPECT_EQ(doc["report"], dir.File("q.report.json"));
  EXPECT_EQ(doc["nodes_quantized"], 4);
  EXPECT_LT(doc["bytes_after"].get<int64_t>(), doc["bytes_before"].get<int64_t>() / 3);
  EXPECT_EQ(dir.List(), (std::vector<std::string>{"q.onnx", "q.report.json"}));
  nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
  EXPECT_EQ(report["config"]["scheme"], "int8-asym");
  EXPECT_EQ(report["calibration"]["samples_used"], 32);
}

TEST(QuantizeCliTest, StaticSchemeWithoutCalibrationIsAUsageError) {
  TempDir dir;
  ExpectRefusal(RunPq({"quantize", Cnn(), "-o", dir.File("q.onnx"), "--scheme", "int8-sym"}),
                kExitUsage, "--weights-only");
  EXPECT_TRUE(dir.List().empty());
}

TEST(QuantizeCliTest, UnknownSchemeOrMethodIsAUsageError) {
  TempDir dir;
  ExpectRefusal(RunPq({"quantize", Cnn(), "-o", dir.File("q.onnx"), "--scheme", "int7"}), kExitUsage,
                "int7");
  ExpectRefusal(RunPq({"quantize", Cnn(), "-o", dir.File("q.onnx"), "--calib", Calib(),
                       "--calib-method", "magic"}),
                kExitUsage, "magic");
  EXPECT_TRUE(dir.List().empty());
}

TEST(QuantizeCliTest, CalibrationShapeMismatchIsInvalidInputNamingTheFile) {
  TempDir dir;
  Tensor wrong = Tensor::Allocate(kFloat, {4, 1, 14, 14}).value();
  testing::WriteFile(dir.File("wrong.npy"), EncodeNpy(wrong));
  ExpectRefusal(RunPq({"quantize", Cnn(), "-o", dir.File("q.onnx"), "--calib", dir.File("wrong.npy")}),
                kExitInvalidInput, "wrong.npy");
  EXPECT_EQ(dir.List(), std::vector<std::string>{"wrong.npy"});
}

TEST(QuantizeCliTest, NanWeightIsInvalidInputNamingTheTensor) {
  TempDir dir;
  onnx::ModelProto proto = testing::TinyMatMulModel();
  const float nan = std::nanf("");
  std::memcpy(proto.mutable_graph()->mutable_initializer(0)->mutable_raw_data()->data(), &nan, 4);
  testing::SaveProto(proto, dir.File("m.onnx"));
  ExpectRefusal(RunPq({"quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"), "--weights-only"}),
                kExitInvalidInput, "'W'");
  EXPECT_EQ(dir.List(), std::vector<std::string>{"m.onnx"});
}

TEST(QuantizeCliTest, ExistingOutputOrReportIsRefusedBeforeAnyWork) {
  TempDir dir;
  testing::WriteFile(dir.File("q.report.json"), "keep");
  ExpectRefusal(RunPq({"quantize", Cnn(), "-o", dir.File("q.onnx"), "--weights-only"}), kExitOutput,
                "q.report.json");
  EXPECT_EQ(ReadFile(dir.File("q.report.json")), "keep");
  EXPECT_EQ(dir.List(), std::vector<std::string>{"q.report.json"});
  CliRun forced = RunPq({"-q", "quantize", Cnn(), "-o", dir.File("q.onnx"), "--weights-only", "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(ReadFile(dir.File("q.report.json")), "keep");
}

TEST(QuantizeCliTest, OutputEqualToInputIsRefused) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  const std::string before = ReadFile(dir.File("m.onnx"));
  ExpectRefusal(RunPq({"quantize", dir.File("m.onnx"), "-o", dir.File("m.onnx"), "--weights-only",
                       "--force"}),
                kExitOutput, "is an input");
  // Reached by another name, or as the report, it is still the input.
  ExpectRefusal(RunPq({"quantize", dir.File("m.onnx"), "-o", dir.File("./m.onnx"), "--weights-only",
                       "--force"}),
                kExitOutput, "is an input");
  ExpectRefusal(RunPq({"quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"), "--report",
                       dir.File("m.onnx"), "--weights-only", "--force"}),
                kExitOutput, "is an input");
  EXPECT_EQ(ReadFile(dir.File("m.onnx")), before);
  EXPECT_EQ(dir.List(), std::vector<std::string>{"m.onnx"});
}

TEST(QuantizeCliTest, ConfigFileSuppliesOptionsAndFlagsOverrideIt) {
  TempDir dir;
  testing::WriteFile(dir.File("pq.toml"), "[quantize]\nscheme = \"int8-asym\"\nweights-only = true\n"
                                         "granularity = \"per-tensor\"\n");
  CliRun run = RunPq({"-q", "quantize", Cnn(), "-o", dir.File("q.onnx"), "--config", dir.File("pq.toml"),
                      "--granularity", "per-channel"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
  EXPECT_EQ(report["config"]["scheme"], "int8-asym");
  EXPECT_EQ(report["config"]["weights_only"], true);
  EXPECT_EQ(report["config"]["granularity"], "per-channel");
}

// TinyMatMulModel with every tensor in `dtype` (X, W, B, Y) of `bytes` per
// value: float16 or bfloat16 (2; 0x3c3c is about 1.06 in float16, 0.0115 in
// bfloat16), or double (8).
onnx::ModelProto TypedMatMulModel(int32_t dtype, size_t bytes = 2) {
  onnx::ModelProto m = testing::TinyMatMulModel();
  auto* g = m.mutable_graph();
  for (auto& t : *g->mutable_initializer()) {
    size_t count = 1;
    for (int64_t d : t.dims()) count *= static_cast<size_t>(d);
    t.set_data_type(dtype);
    t.set_raw_data(std::string(count * bytes, '\x3c'));
  }
  g->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(dtype);
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(dtype);
  return m;
}

// float16 and bfloat16 models are quantized like float32 ones (issue 15
// item 3): every weight, with scales of the model's type; nothing is left.
TEST(QuantizeCliTest, Float16AndBfloat16WeightsAreQuantized) {
  for (int32_t dtype : {onnx::TensorProto::FLOAT16, onnx::TensorProto::BFLOAT16}) {
    SCOPED_TRACE(dtype);
    TempDir dir;
    testing::SaveProto(TypedMatMulModel(dtype), dir.File("m.onnx"));
    CliRun run = RunPq({"quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
                        "--weights-only"});
    ASSERT_EQ(run.exit_code, kExitOk) << run.err;
    EXPECT_EQ(run.err.find("left FP32"), std::string::npos) << run.err;
    nlohmann::json report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
    ASSERT_EQ(report["tensors"].size(), 1u);  // W (B is not a MatMul weight)
    EXPECT_EQ(report["tensors"][0]["name"], "W");
    onnx::ModelProto q;
    ASSERT_TRUE(q.ParseFromString(ReadFile(dir.File("q.onnx"))));
    int scales = 0;
    for (const auto& t : q.graph().initializer()) {
      if (t.name() != report["tensors"][0]["written_as"]["scale"]) continue;
      EXPECT_EQ(t.data_type(), dtype);
      ++scales;
    }
    EXPECT_EQ(scales, 1);
    EXPECT_EQ(q.graph().output(0).type().tensor_type().elem_type(), dtype);
  }
}

// A scheme that quantizes nothing is an error naming why, with nothing
// written, so a nightly job cannot mistake an unchanged model for success;
// --allow-unchanged writes it anyway.
TEST(QuantizeCliTest, QuantizingNothingExitsThreeNamingWhy) {
  TempDir dir;
  testing::SaveProto(TypedMatMulModel(onnx::TensorProto::DOUBLE, 8), dir.File("m.onnx"));
  ExpectRefusal(RunPq({"quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
                       "--weights-only"}),
                kExitInvalidInput, "quantized nothing: weight is double, not float32, float16 or bfloat16");
  EXPECT_EQ(dir.List().size(), 1u);  // only the input
  // A model without any weight of the requested op types says so.
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("f.onnx"));
  ExpectRefusal(RunPq({"quantize", dir.File("f.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
                       "--weights-only", "--op-types", "Conv"}),
                kExitInvalidInput, "no Conv node with a float32, float16 or bfloat16 weight");
  CliRun run = RunPq({"quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
                      "--weights-only", "--allow-unchanged"});
  EXPECT_EQ(run.exit_code, kExitOk) << run.err;
  EXPECT_NE(run.err.find("left FP32: weight is double"), std::string::npos) << run.err;
  EXPECT_FALSE(ReadFile(dir.File("q.onnx")).empty());
}

TEST(QuantizeCliTest, SchemesListsTheTable) {
  CliRun run = RunPq({"schemes"});
  ASSERT_EQ(run.exit_code, 0);
  EXPECT_NE(run.out.find("int8-sym"), std::string::npos);
  EXPECT_NE(run.out.find("int8-asym"), std::string::npos);
  CliRun json = RunPq({"schemes", "--json"});
  ASSERT_EQ(json.exit_code, 0);
  EXPECT_GE(nlohmann::json::parse(json.out).size(), 2u);
  // Each scheme declares the flags it reads.
  for (const auto& s : nlohmann::json::parse(json.out)) {
    if (s["name"] == "nf4") {
      EXPECT_EQ(s["options"], nlohmann::json({"--block-size", "--nf4-format", "--double-quant"}));
      EXPECT_EQ(s["calibrates_activations"], false);
    }
    if (s["name"] == "int8-sym") {
      EXPECT_TRUE(s["options"].empty());
    }
  }
}

// A scheme flag that neither scheme reads is reported as ignored, in the log
// and in the report, instead of passing silently.
TEST(QuantizeCliTest, FlagTheSchemeDoesNotReadIsReportedIgnored) {
  TempDir dir;
  testing::SaveProto(testing::TinyMatMulModel(), dir.File("m.onnx"));
  CliRun run = RunPq({"quantize", dir.File("m.onnx"), "-o", dir.File("q.onnx"), "--scheme", "int8-sym",
                      "--weights-only", "--block-size", "32"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("--block-size applies to nf4, int4-sym, int4-asym only; ignored for int8-sym"),
            std::string::npos)
      << run.err;
  const auto report = nlohmann::json::parse(ReadFile(dir.File("q.report.json")));
  ASSERT_EQ(report["warnings"].size(), 1u);
  // With a fallback that reads it, it is not ignored.
  run = RunPq({"quantize", dir.File("m.onnx"), "-o", dir.File("r.onnx"), "--scheme", "int8-sym",
               "--weights-only", "--block-size", "32", "--fallback", "nf4"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err.find("ignored"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace pq
