// Direct tests of src/report/report.cc (BuildReport): a small model is
// quantized (int8-asym static, nf4), saved, and its report checked against
// the outcome records, the saved model's bytes and digests computed here.
#include "pq/report.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "exec/kernel_test_util.h"
#include "onnx/onnx_pb.h"
#include "pq/npy.h"
#include "testutil/graph_builder.h"
#include "testutil/temp_dir.h"
#include "util/sha256.h"

namespace pq {
namespace {

using Json = nlohmann::ordered_json;

constexpr int64_t kHidden = 64;  // W1's output channels: a per-channel scale of 64 values
constexpr int64_t kOut = 16;     // W2's: exactly kReportSummaryArrayLimit values

// X[batch, 8] -> MatMul(W1[8, 64]) -> H -> Relu -> R -> Gemm(W2[16, 64], B2; transB=1) -> Y
class ReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::GraphBuilder b;
    b.Input("X", {-1, 8}).Output("Y", {-1, kOut});
    b.Weight("W1", {8, kHidden}, 11).Weight("W2", {kOut, kHidden}, 12).Weight("B2", {kOut}, 13);
    b.Node("MatMul", {"X", "W1"}, {"H"}, "mm");
    b.Node("Relu", {"H"}, {"R"}, "relu");
    testing::GraphBuilder::IntAttr(b.Node("Gemm", {"R", "W2", "B2"}, {"Y"}, "gemm"), "transB", 1);
    testing::SaveProto(b.proto(), dir_.File("model.onnx"));
    model_ = std::move(Model::Load(dir_.File("model.onnx"))).value();
    std::vector<float> x(6 * 8);
    for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.7f * static_cast<float>(i));
    testing::WriteFile(dir_.File("calib.npy"), EncodeNpy(testing::Floats({6, 8}, x)));
  }

  // Quantizes with `options`, saves the result and builds its report.
  Json Run(const QuantizeOptions& options, size_t array_limit = SIZE_MAX,
           std::map<std::string, std::string> known = {}) {
    Result<QuantizeOutcome> out = Quantize(*model_, options, {});
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return Json();
    outcome_ = std::move(out).value();
    std::remove(dir_.File("q.onnx").c_str());
    Result<SaveResult> saved = SaveModel(*outcome_.model, dir_.File("q.onnx"), SaveOptions{});
    EXPECT_TRUE(saved.ok()) << saved.status().ToString();
    saved_ = saved.value();
    ReportInputs in;
    in.argv = {"pq", "quantize", "--threads", "3", "--threads=2", "model.onnx"};
    in.input_model = model_.get();
    in.output = &saved_;
    in.options = &options;
    in.array_limit = array_limit;
    in.known_sha256 = std::move(known);
    Result<Json> report = BuildReport(in, outcome_);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? report.value() : Json();
  }

  QuantizeOptions Int8Static() const {
    QuantizeOptions o;
    o.scheme = "int8-asym";
    o.calib_paths = {dir_.File("calib.npy")};
    return o;
  }

  testing::TempDir dir_;
  std::unique_ptr<Model> model_;
  QuantizeOutcome outcome_;
  SaveResult saved_;
};

std::string Sha256OfFile(const std::string& path) {
  const std::string bytes = testing::ReadFile(path);
  return Sha256Bytes(bytes.data(), bytes.size());
}

// The float32 values of constant `name` of the saved model.
std::vector<float> SavedFloats(const Model& m, const std::string& name) {
  const ConstantTensor* c = m.FindConstant(name);
  EXPECT_NE(c, nullptr) << name;
  if (c == nullptr) return {};
  std::vector<float> v(static_cast<size_t>(c->element_count));
  std::memcpy(v.data(), c->data, v.size() * 4);
  return v;
}

std::vector<int64_t> SavedIntegers(const Model& m, const std::string& name) {
  const ConstantTensor* c = m.FindConstant(name);
  EXPECT_NE(c, nullptr) << name;
  std::vector<int64_t> v;
  for (int64_t i = 0; c != nullptr && i < c->element_count; ++i) {
    if (c->data_type == onnx::TensorProto::UINT8) v.push_back(c->data[i]);
    if (c->data_type == onnx::TensorProto::INT8) v.push_back(static_cast<int8_t>(c->data[i]));
    if (c->data_type == onnx::TensorProto::INT32) {
      int32_t x;
      std::memcpy(&x, c->data + 4 * i, 4);
      v.push_back(x);
    }
  }
  return v;
}

TEST(ReportSha256Test, HasherKnownAnswer) {
  EXPECT_EQ(Sha256Bytes("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(ReportTest, SummaryCountsAreTheOutcomes) {
  const Json r = Run(Int8Static());
  ASSERT_TRUE(r.is_object());
  int64_t weights = 0, biases = 0, activations = 0;
  for (const auto& t : outcome_.tensors) {
    weights += t.role == TensorRole::kWeight;
    biases += t.role == TensorRole::kBias;
    activations += t.role == TensorRole::kActivation;
  }
  EXPECT_EQ(weights, 2);
  EXPECT_EQ(biases, 1);
  const Json& s = r["summary"];
  EXPECT_EQ(s["nodes_quantized"], outcome_.nodes_quantized);
  EXPECT_EQ(s["nodes_quantized"], 2);
  EXPECT_EQ(s["tensors_quantized"]["weights"], weights);
  EXPECT_EQ(s["tensors_quantized"]["biases"], biases);
  EXPECT_EQ(s["tensors_quantized"]["activations"], activations);
  EXPECT_EQ(s["skipped"], outcome_.skipped.size());
  EXPECT_EQ(s["parameters_total"], 8 * kHidden + kOut * kHidden + kOut);
  EXPECT_EQ(s["parameters_quantized"], 8 * kHidden + kOut * kHidden + kOut);
  EXPECT_EQ(s["bytes_before"], testing::ReadFile(dir_.File("model.onnx")).size());
  EXPECT_EQ(s["bytes_after"], testing::ReadFile(dir_.File("q.onnx")).size());
  EXPECT_EQ(r["tensors"].size(), outcome_.tensors.size());
  EXPECT_EQ(r["command"], (std::vector<std::string>{"pq", "quantize", "model.onnx"}))
      << "--threads never changes a result and is left out";
}

// Every scale and zero point in the JSON is the record's and the saved model's.
TEST_F(ReportTest, TensorParametersAreTheRecordsAndTheSavedModels) {
  const Json r = Run(Int8Static());
  ASSERT_TRUE(r.is_object());
  auto saved = Model::Load(dir_.File("q.onnx"));
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  ASSERT_EQ(r["tensors"].size(), outcome_.tensors.size());
  for (size_t i = 0; i < outcome_.tensors.size(); ++i) {
    const QuantizedTensorRecord& rec = outcome_.tensors[i];
    const Json& t = r["tensors"][i];
    SCOPED_TRACE(rec.name);
    EXPECT_EQ(t["name"], rec.name);
    EXPECT_EQ(t["role"], TensorRoleName(rec.role));
    EXPECT_EQ(t["scale"].get<std::vector<float>>(), rec.params.scale);
    EXPECT_EQ(t["zero_point"].get<std::vector<int64_t>>(), rec.params.zero_point);
    EXPECT_EQ(t["scale"].get<std::vector<float>>(), SavedFloats(*saved.value(), rec.scale_name));
    EXPECT_EQ(t["zero_point"].get<std::vector<int64_t>>(),
              SavedIntegers(*saved.value(), rec.zero_point_name));
    EXPECT_EQ(t["written_as"]["scale"], rec.scale_name);
    EXPECT_EQ(t["written_as"]["dequantized"], rec.dequantized_name);
    if (rec.role == TensorRole::kActivation) {
      EXPECT_TRUE(t["shape"].is_null());
      EXPECT_TRUE(t["error"].is_null());
    } else {
      ASSERT_TRUE(rec.error.has_value());
      EXPECT_EQ(t["error"]["mse"].get<double>(), rec.error->mse);
    }
  }
  // H (the Relu's only input) shares R's calibrated parameters.
  for (const Json& t : r["tensors"]) {
    if (t["name"] == "H") {
      EXPECT_EQ(t["shares_params_with"], "R");
      EXPECT_TRUE(t["range"].is_null());
    }
    if (t["name"] == "R") {
      EXPECT_TRUE(t["shares_params_with"].is_null());
      EXPECT_LE(t["range"]["chosen_min"].get<float>(), 0.0f);
      EXPECT_GT(t["range"]["chosen_max"].get<float>(), 0.0f);
    }
  }
}

TEST_F(ReportTest, ConfigEchoesTheOptions) {
  QuantizeOptions o = Int8Static();
  o.exclude_op_types = {"Conv"};
  const Json r = Run(o);
  ASSERT_TRUE(r.is_object());
  const Json& c = r["config"];
  EXPECT_EQ(c["scheme"], "int8-asym");
  EXPECT_EQ(c["weights_only"], false);
  EXPECT_EQ(c["symmetric_weights"], true);  // int8-asym's default
  EXPECT_EQ(c["granularity"], "per-channel");
  EXPECT_EQ(c["op_types"], o.op_types);
  EXPECT_EQ(c["exclude_op_types"], (std::vector<std::string>{"Conv"}));
  EXPECT_EQ(c["report_detail"], "full");
  EXPECT_EQ(c["calibration"]["method"], o.calibration.method);
  EXPECT_EQ(c["calibration"]["batch"], o.calib_batch);
  EXPECT_FALSE(c.contains("nf4_format")) << "4-bit settings only for 4-bit schemes";
  ASSERT_EQ(r["calibration"]["files"].size(), 1u);
  EXPECT_EQ(r["calibration"]["files"][0]["path"], dir_.File("calib.npy"));
  EXPECT_EQ(r["calibration"]["files"][0]["samples"], 6);
  EXPECT_EQ(r["calibration"]["files"][0]["sha256"], Sha256OfFile(dir_.File("calib.npy")));
  EXPECT_EQ(r["calibration"]["samples_used"], outcome_.activation_stats.samples);
}

TEST_F(ReportTest, InputAndOutputDigestsAreTheFiles) {
  const Json r = Run(Int8Static());
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["input_model"]["path"], dir_.File("model.onnx"));
  EXPECT_EQ(r["input_model"]["sha256"], Sha256OfFile(dir_.File("model.onnx")));
  EXPECT_EQ(r["output_model"]["path"], dir_.File("q.onnx"));
  EXPECT_EQ(r["output_model"]["sha256"], Sha256OfFile(dir_.File("q.onnx")));
  EXPECT_NE(r["input_model"]["sha256"], r["output_model"]["sha256"]);
  // A digest computed earlier (BackgroundHasher) is taken as given.
  const std::string known(64, 'a');
  const Json again = Run(Int8Static(), SIZE_MAX, {{dir_.File("model.onnx"), known}});
  EXPECT_EQ(again["input_model"]["sha256"], known);
}

// Arrays longer than the limit become count, extremes and the SHA-256 of
// their little-endian values; shorter ones stay whole.
TEST_F(ReportTest, ArrayLimitDigestsLongArrays) {
  const Json r = Run(Int8Static(), kReportSummaryArrayLimit);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["config"]["report_detail"], "summary");
  int digested = 0, whole = 0;
  for (size_t i = 0; i < outcome_.tensors.size(); ++i) {
    const QuantParams& p = outcome_.tensors[i].params;
    const Json& scale = r["tensors"][i]["scale"];
    const Json& zp = r["tensors"][i]["zero_point"];
    SCOPED_TRACE(outcome_.tensors[i].name);
    if (p.scale.size() <= kReportSummaryArrayLimit) {
      EXPECT_TRUE(scale.is_array());
      whole += 1;
      continue;
    }
    digested += 1;
    ASSERT_TRUE(scale.is_object());
    EXPECT_EQ(scale["count"], p.scale.size());
    EXPECT_EQ(scale["min"].get<float>(), *std::min_element(p.scale.begin(), p.scale.end()));
    EXPECT_EQ(scale["max"].get<float>(), *std::max_element(p.scale.begin(), p.scale.end()));
    EXPECT_EQ(scale["sha256"], Sha256Bytes(p.scale.data(), p.scale.size() * sizeof(float)));
    ASSERT_TRUE(zp.is_object());
    EXPECT_EQ(zp["count"], p.zero_point.size());
    EXPECT_EQ(zp["sha256"], Sha256Bytes(p.zero_point.data(), p.zero_point.size() * sizeof(int64_t)));
  }
  EXPECT_EQ(digested, 1) << "W1's 64 per-channel scales";
  EXPECT_GE(whole, 2) << "W2's 16 scales and the per-tensor activations";
}

TEST_F(ReportTest, Nf4ReportRecordsBlocksAndSkippedReasons) {
  QuantizeOptions o;
  o.scheme = "nf4";
  o.weights_only = true;
  const Json r = Run(o);
  ASSERT_TRUE(r.is_object());
  EXPECT_EQ(r["summary"]["tensors_quantized"]["weights"], 2);
  EXPECT_EQ(r["summary"]["tensors_quantized"]["activations"], 0);
  EXPECT_TRUE(r["calibration"].is_null());
  EXPECT_TRUE(r["config"]["calibration"].is_null());
  EXPECT_EQ(r["config"]["block_size"], "default");
  // The config says what the tensors say: nf4 weights are per block.
  EXPECT_EQ(r["config"]["granularity"], "per-block");
  EXPECT_EQ(r["config"]["nf4_format"], "ort");
  EXPECT_EQ(r["config"]["double_quant"]["requested"], false);
  for (size_t i = 0; i < outcome_.tensors.size(); ++i) {
    const Json& t = r["tensors"][i];
    EXPECT_EQ(t["to_dtype"], "nf4");
    EXPECT_EQ(t["granularity"], "per-block");
    EXPECT_EQ(t["block_size"], 64);
    EXPECT_EQ(t["written_as"]["form"], "MatMulBnb4");
    EXPECT_EQ(t["stored_bytes"], outcome_.tensors[i].stored_bytes);
    EXPECT_EQ(t["scale"].get<std::vector<float>>(), outcome_.tensors[i].params.scale);
  }
  // B2 is left FP32 and the report says why.
  ASSERT_EQ(r["skipped"].size(), outcome_.skipped.size());
  ASSERT_FALSE(outcome_.skipped.empty());
  for (size_t i = 0; i < outcome_.skipped.size(); ++i) {
    EXPECT_EQ(r["skipped"][i]["tensor"], outcome_.skipped[i].tensor);
    EXPECT_EQ(r["skipped"][i]["reason"], outcome_.skipped[i].reason);
    EXPECT_FALSE(r["skipped"][i]["reason"].get<std::string>().empty());
  }
  EXPECT_EQ(r["skipped"][0]["tensor"], "B2");
  EXPECT_EQ(r["skipped"][0]["node"], "gemm");
}

}  // namespace
}  // namespace pq
