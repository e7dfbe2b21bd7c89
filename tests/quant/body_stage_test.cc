// Tests of src/quant/body_stage.cc through pq::Quantize: weights of MatMuls
// inside If branches, a Loop body and a Scan body (issue 15's "both
// branches' weights quantized"), by every weight scheme, with the quantized
// model run by pq's executor against the FP32 one; float16 bodies; bodies
// nested in bodies; body activations of a static scheme calibrated where
// the data runs the body, reported as not calibrated where it does not.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "onnx/onnx_pb.h"
#include "pq/calibrate_job.h"
#include "pq/calibration_stats.h"
#include "pq/data_type.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "pq/npy.h"
#include "pq/quantize.h"
#include "quant/float_type.h"
#include "testutil/model_builder.h"
#include "testutil/run_model.h"
#include "testutil/temp_dir.h"

namespace pq {
namespace {

using testing::RelativeL2;

constexpr int64_t kK = 64, kN = 32, kRows = 4;
// Quantized vs FP32 outputs on pq's executor, relative L2.
constexpr double kMaxRelL2Int8 = 0.03;
constexpr double kMaxRelL2FourBit = 0.25;
// Static int8 with every body's activations quantized too: the input of each
// of the seven MatMul runs on the path (If, main, three Loop trips, Scan) is
// rounded as well (measured 0.031 when the data takes both branches).
constexpr double kMaxRelL2Int8Static = 0.05;

// A weight of `dtype` with fixed-seed values scaled by 1/sqrt(rows).
onnx::TensorProto Weight(const std::string& name, int64_t rows, int64_t cols, int seed, int32_t dtype) {
  const onnx::TensorProto f = testing::RandomFloatTensor(name, {rows, cols}, seed);
  std::vector<float> values(static_cast<size_t>(rows * cols));
  std::memcpy(values.data(), f.raw_data().data(), values.size() * sizeof(float));
  for (float& v : values) v /= std::sqrt(static_cast<float>(rows));
  onnx::TensorProto w;
  w.set_name(name);
  w.set_data_type(dtype);
  w.add_dims(rows);
  w.add_dims(cols);
  w.set_raw_data(quant::FloatRaw(values, dtype));
  return w;
}

onnx::TensorProto Scalar(const std::string& name, int32_t dtype, const std::string& raw) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(dtype);
  t.set_raw_data(raw);
  return t;
}

onnx::NodeProto* AddNode(onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& in,
                         const std::vector<std::string>& out, const std::string& name = "") {
  onnx::NodeProto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& i : in) n->add_input(i);
  for (const auto& o : out) n->add_output(o);
  return n;
}

onnx::GraphProto* AddBody(onnx::NodeProto* node, const std::string& attribute) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(attribute);
  a->set_type(onnx::AttributeProto::GRAPH);
  a->mutable_g()->set_name(attribute);
  return a->mutable_g();
}

void AddInt(onnx::NodeProto* node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// A value info of `dtype` with `dims` (none: rank unknown).
void Info(google::protobuf::RepeatedPtrField<onnx::ValueInfoProto>* list, const std::string& name, int32_t dtype,
          const std::vector<int64_t>& dims, bool ranked = true) {
  onnx::ValueInfoProto* v = list->Add();
  v->set_name(name);
  v->mutable_type()->mutable_tensor_type()->set_elem_type(dtype);
  if (!ranked) return;
  auto* shape = v->mutable_type()->mutable_tensor_type()->mutable_shape();
  for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
}

// X [4, 64] -> If 'gate' (ReduceSum(X) > 0): then MatMul(X, W_shared), else
// MatMul(X, W_else: the branch's initializer); plus MatMul(X, W_shared) in
// the main graph; their sum -> Loop 'repeat' (3 trips): y = Tanh(MatMul(y,
// Wl: a Constant node)) -> Scan 'rows' over the rows: s += MatMul(r,
// W_scan: a main-graph weight read only there). Outputs s_final [32],
// scan_rows [4, 32]. Every float of `dtype`, opset 17.
onnx::ModelProto BodiesModel(int32_t dtype) {
  onnx::ModelProto model;
  model.set_ir_version(8);
  model.add_opset_import()->set_version(17);
  onnx::GraphProto* g = model.mutable_graph();
  g->set_name("bodies");
  *g->add_initializer() = Weight("W_shared", kK, kN, 1, dtype);
  *g->add_initializer() = Weight("W_scan", kN, kN, 2, dtype);
  *g->add_initializer() = Scalar("zero", dtype, quant::FloatRaw({0.0f}, dtype));
  const int64_t trips = 3;
  *g->add_initializer() = Scalar("trip", kInt64, std::string(reinterpret_cast<const char*>(&trips), 8));
  onnx::TensorProto s0 = Scalar("s0", dtype, quant::FloatRaw(std::vector<float>(kN, 0.0f), dtype));
  s0.add_dims(kN);
  *g->add_initializer() = s0;
  AddInt(AddNode(g, "ReduceSum", {"X"}, {"xs"}), "keepdims", 0);
  AddNode(g, "Greater", {"xs", "zero"}, {"c"});
  onnx::NodeProto* gate = AddNode(g, "If", {"c"}, {"if_out"}, "gate");
  onnx::GraphProto* then_g = AddBody(gate, "then_branch");
  AddNode(then_g, "MatMul", {"X", "W_shared"}, {"t_out"}, "then_mm");
  Info(then_g->mutable_output(), "t_out", dtype, {}, false);
  onnx::GraphProto* else_g = AddBody(gate, "else_branch");
  *else_g->add_initializer() = Weight("W_else", kK, kN, 3, dtype);
  AddNode(else_g, "MatMul", {"X", "W_else"}, {"e_out"}, "else_mm");
  Info(else_g->mutable_output(), "e_out", dtype, {}, false);
  AddNode(g, "MatMul", {"X", "W_shared"}, {"main_mm"}, "main_mm");
  AddNode(g, "Add", {"if_out", "main_mm"}, {"z"});
  onnx::GraphProto* loop = AddBody(AddNode(g, "Loop", {"trip", "", "z"}, {"loop_out"}, "repeat"), "body");
  onnx::NodeProto* constant = AddNode(loop, "Constant", {}, {"Wl"});
  onnx::AttributeProto* value = constant->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  *value->mutable_t() = Weight("Wl", kN, kN, 4, dtype);
  AddNode(loop, "MatMul", {"y_in", "Wl"}, {"mm"}, "loop_mm");
  AddNode(loop, "Tanh", {"mm"}, {"y_out"});
  AddNode(loop, "Identity", {"cond_in"}, {"cond_out"});
  Info(loop->mutable_input(), "i", kInt64, {});
  Info(loop->mutable_input(), "cond_in", kBool, {});
  Info(loop->mutable_input(), "y_in", dtype, {}, false);
  Info(loop->mutable_output(), "cond_out", kBool, {});
  Info(loop->mutable_output(), "y_out", dtype, {}, false);
  onnx::NodeProto* rows = AddNode(g, "Scan", {"s0", "loop_out"}, {"s_final", "scan_rows"}, "rows");
  AddInt(rows, "num_scan_inputs", 1);
  onnx::GraphProto* scan = AddBody(rows, "body");
  AddNode(scan, "MatMul", {"r", "W_scan"}, {"rm"}, "scan_mm");
  AddNode(scan, "Add", {"s", "rm"}, {"s_out"});
  AddNode(scan, "Identity", {"rm"}, {"scan_out"});
  Info(scan->mutable_input(), "s", dtype, {kN});
  Info(scan->mutable_input(), "r", dtype, {kN});
  Info(scan->mutable_output(), "s_out", dtype, {kN});
  Info(scan->mutable_output(), "scan_out", dtype, {kN});
  Info(g->mutable_input(), "X", dtype, {kRows, kK});
  Info(g->mutable_output(), "s_final", dtype, {kN});
  Info(g->mutable_output(), "scan_rows", dtype, {kRows, kN});
  return model;
}

std::unique_ptr<Model> FromProto(const onnx::ModelProto& proto) {
  auto model = Model::FromProto(std::make_unique<onnx::ModelProto>(proto), ".", "bodies.onnx");
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(model).value() : nullptr;
}

// X with every value of sign `sign` (so that the If takes one branch).
std::vector<float> InputX(float sign) {
  std::vector<float> x(static_cast<size_t>(kRows * kK));
  for (size_t i = 0; i < x.size(); ++i) x[i] = sign * (0.2f + static_cast<float>((i * 37) % 101) / 101.0f);
  return x;
}

// Both outputs of `model` on InputX(sign), concatenated.
std::vector<float> RunModel(const Model& model, float sign) {
  return testing::RunOnFloatInput(model, "X", {kRows, kK}, InputX(sign));
}

// The body weights of BodiesModel with their paths.
const std::vector<std::pair<std::string, std::string>>& BodyWeights() {
  static const std::vector<std::pair<std::string, std::string>> kWeights = {
      {"W_shared", "If 'gate'/then_branch"}, {"W_else", "If 'gate'/else_branch"},
      {"Wl", "Loop 'repeat'/body"}, {"W_scan", "Scan 'rows'/body"}};
  return kWeights;
}

const QuantizedTensorRecord* Record(const QuantizeOutcome& outcome, const std::string& name,
                                    const std::string& graph) {
  for (const QuantizedTensorRecord& r : outcome.tensors) {
    if (r.name == name && r.graph == graph && r.role == TensorRole::kWeight) return &r;
  }
  return nullptr;
}

// Whether any graph of `graph` (bodies included) holds a float tensor named
// `name`, as an initializer or a Constant node's value.
bool HoldsFloat(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& t : graph.initializer()) {
    if (t.name() == name && quant::IsQuantizableFloat(t.data_type())) return true;
  }
  for (const auto& node : graph.node()) {
    for (const auto& a : node.attribute()) {
      if (node.op_type() == "Constant" && node.output(0) == name && a.has_t()) return true;
      if (a.has_g() && HoldsFloat(a.g(), name)) return true;
    }
  }
  return false;
}

struct SchemeCase {
  const char* scheme;
  bool weights_only;
  const char* format;  // --nf4-format / --int4-format, "" = default
  double max_rel_l2;
};

class BodyWeightsTest : public ::testing::TestWithParam<SchemeCase> {};

TEST_P(BodyWeightsTest, QuantizesEveryBodyWeightAndRunsNearFp32) {
  const SchemeCase& c = GetParam();
  std::unique_ptr<Model> model = FromProto(BodiesModel(kFloat));
  ASSERT_NE(model, nullptr);
  QuantizeOptions options;
  options.scheme = c.scheme;
  options.weights_only = c.weights_only;
  if (std::string(c.format) != "") options.nf4_format = options.int4_format = c.format;
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->nodes_quantized, 5);
  for (const auto& [name, path] : BodyWeights()) {
    const QuantizedTensorRecord* r = Record(*outcome, name, path);
    ASSERT_NE(r, nullptr) << name << " in " << path;
    ASSERT_EQ(r->consumers.size(), 1u);
    EXPECT_EQ(r->consumers[0].node.rfind(path + "/", 0), 0u) << r->consumers[0].node;
    EXPECT_FALSE(HoldsFloat(outcome->model->proto().graph(), name)) << name << ": the float weight is gone";
  }
  const QuantizedTensorRecord* in_main = Record(*outcome, "W_shared", "");
  ASSERT_NE(in_main, nullptr) << "the main graph's read of W_shared";
  // Quantized alike by the main graph and the then-branch, W_shared is
  // stored once: the branch reads the main graph's codes and scales. Not
  // when a DequantizeLinear reads them (ONNX Runtime needs the body's own
  // initializers there; shared_constants.h).
  const QuantizedTensorRecord* in_branch = Record(*outcome, "W_shared", "If 'gate'/then_branch");
  // (int8 DequantizeLinear weights record no written_form.)
  const bool shared = !in_branch->written_form.empty() && in_branch->written_form != "DequantizeLinear";
  EXPECT_EQ(in_branch->quantized_name == in_main->quantized_name, shared) << in_branch->written_form;
  EXPECT_EQ(in_branch->scale_name == in_main->scale_name, shared);
  for (const auto& node : outcome->model->proto().graph().node()) {
    if (node.name() != "gate") continue;
    for (const auto& a : node.attribute()) {
      if (a.name() == "then_branch") {
        EXPECT_EQ(a.g().initializer_size() == 0, shared) << "the branch's copy";
      }
    }
  }
  for (const SkippedRecord& s : outcome->skipped) EXPECT_FALSE(s.weight_not_taken) << s.node << ": " << s.reason;
  for (float sign : {1.0f, -1.0f}) {  // then, else
    const double err = RelativeL2(RunModel(*outcome->model, sign), RunModel(*model, sign));
    EXPECT_LE(err, c.max_rel_l2) << "sign " << sign;
    EXPECT_GT(err, 0.0) << "the quantized weights change the outputs";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Schemes, BodyWeightsTest,
    ::testing::Values(SchemeCase{"int8-sym", true, "", kMaxRelL2Int8}, SchemeCase{"int8-asym", true, "", kMaxRelL2Int8},
                      SchemeCase{"int8-dynamic", false, "", kMaxRelL2Int8},
                      SchemeCase{"nf4", false, "", kMaxRelL2FourBit}, SchemeCase{"nf4", false, "onnx", kMaxRelL2FourBit},
                      SchemeCase{"int4-sym", false, "", kMaxRelL2FourBit},
                      SchemeCase{"int4-asym", false, "", kMaxRelL2FourBit},
                      SchemeCase{"int4-sym", false, "onnx", kMaxRelL2FourBit}),
    [](const ::testing::TestParamInfo<SchemeCase>& info) {
      std::string name = std::string(info.param.scheme) + (info.param.format[0] != '\0' ? "_onnx" : "");
      for (char& ch : name) ch = ch == '-' ? '_' : ch;
      return name;
    });

// Calibration data in `dir`: one sample of InputX(sign) per entry of `signs`.
std::string WriteCalibration(const testing::TempDir& dir, const std::vector<float>& signs) {
  const int64_t n = static_cast<int64_t>(signs.size());
  Tensor t = Tensor::Allocate(kFloat, {n, kRows, kK}).value();
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<float> x = InputX(signs[static_cast<size_t>(i)]);
    std::memcpy(t.data<float>() + i * kRows * kK, x.data(), x.size() * sizeof(float));
  }
  testing::WriteFile(dir.File("x.npy"), EncodeNpy(t));
  return dir.File("x.npy");
}

const QuantizedTensorRecord* ActivationRecord(const QuantizeOutcome& outcome, const std::string& name,
                                              const std::string& graph) {
  for (const QuantizedTensorRecord& r : outcome.tensors) {
    if (r.name == name && r.graph == graph && r.role == TensorRole::kActivation) return &r;
  }
  return nullptr;
}

// "node:tensor" of each activation reported as not calibrated; `reasons`
// receives their reasons.
std::set<std::string> NotCalibrated(const QuantizeOutcome& outcome, std::vector<std::string>* reasons = nullptr) {
  std::set<std::string> out;
  for (const SkippedRecord& s : outcome.skipped) {
    if (s.reason.find("not calibrated") == std::string::npos) continue;
    out.insert(s.node + ":" + s.tensor);
    if (reasons != nullptr) reasons->push_back(s.reason);
  }
  return out;
}

// Only the else-branch's activation is left float, because no sample took
// the branch.
void ExpectOnlyTheElseBranchUncalibrated(const QuantizeOutcome& outcome) {
  std::vector<std::string> reasons;
  EXPECT_EQ(NotCalibrated(outcome, &reasons), (std::set<std::string>{"If 'gate'/else_branch/else_mm:X"}));
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons[0].find("no calibration sample ran this body"), std::string::npos) << reasons[0];
}

// Static int8 (the default scheme) of `model` calibrated on one sample of
// InputX(sign) per entry of `signs`.
Result<QuantizeOutcome> QuantizeStatic(const Model& model, const std::vector<float>& signs) {
  testing::TempDir dir;
  QuantizeOptions options;
  options.calib_paths = {WriteCalibration(dir, signs)};
  return Quantize(model, options, {});
}

// The quantized model's outputs within kMaxRelL2Int8Static of the FP32
// model's on both branches' inputs.
void ExpectNearFp32OnBothBranches(const Model& quantized, const Model& fp32) {
  for (float sign : {1.0f, -1.0f}) {
    EXPECT_LE(RelativeL2(RunModel(quantized, sign), RunModel(fp32, sign)), kMaxRelL2Int8Static) << sign;
  }
}

// The QuantizeLinear nodes of `graph`'s own nodes.
int QuantizeLinears(const onnx::GraphProto& graph) {
  int n = 0;
  for (const auto& node : graph.node()) n += node.op_type() == "QuantizeLinear";
  return n;
}

// The body `attribute` of the node named `node` in the main graph.
const onnx::GraphProto& MainBody(const Model& model, const std::string& node, const std::string& attribute) {
  for (const auto& n : model.proto().graph().node()) {
    if (n.name() != node) continue;
    for (const auto& a : n.attribute()) {
      if (a.name() == attribute) return a.g();
    }
  }
  ADD_FAILURE() << "no body " << node << "/" << attribute;
  static const onnx::GraphProto kEmpty;
  return kEmpty;
}

// Static int8 on data that takes only the If's then-branch: the activations
// of the then-branch, the Loop body and the Scan body are quantized with
// ranges observed on the runs of each body (the then-branch's X, a main-graph
// value, on the samples that take it; the Loop's y_in over its 3 trips, the
// Scan's r over its 4 rows); the else-branch's weight is quantized and its
// input left float, reported as never run.
TEST(BodyStageTest, StaticInt8CalibratesTheBodiesTheDataRuns) {
  std::unique_ptr<Model> model = FromProto(BodiesModel(kFloat));
  Result<QuantizeOutcome> outcome = QuantizeStatic(*model, {1.0f});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  ExpectOnlyTheElseBranchUncalibrated(*outcome);

  const QuantizedTensorRecord* x = ActivationRecord(*outcome, "X", "If 'gate'/then_branch");
  ASSERT_NE(x, nullptr);
  ASSERT_TRUE(x->range.has_value());
  const std::vector<float> input = InputX(1.0f);
  EXPECT_EQ(x->range->observed_max, *std::max_element(input.begin(), input.end()));
  EXPECT_EQ(x->range->observed_min, *std::min_element(input.begin(), input.end()));
  const QuantizedTensorRecord* y = ActivationRecord(*outcome, "y_in", "Loop 'repeat'/body");
  ASSERT_NE(y, nullptr);
  ASSERT_TRUE(y->range.has_value());
  EXPECT_EQ(y->range->values_seen, 3 * kRows * kN) << "every trip";
  const QuantizedTensorRecord* r = ActivationRecord(*outcome, "r", "Scan 'rows'/body");
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->range.has_value());
  EXPECT_EQ(r->range->values_seen, kRows * kN) << "every row";
  EXPECT_LE(r->range->observed_max, 1.0f) << "rows of Tanh outputs";
  EXPECT_GE(r->range->observed_min, -1.0f);
  EXPECT_EQ(ActivationRecord(*outcome, "X", "If 'gate'/else_branch"), nullptr);

  EXPECT_GE(QuantizeLinears(MainBody(*outcome->model, "gate", "then_branch")), 1);
  EXPECT_EQ(QuantizeLinears(MainBody(*outcome->model, "gate", "else_branch")), 0);
  EXPECT_GE(QuantizeLinears(MainBody(*outcome->model, "repeat", "body")), 1);
  EXPECT_GE(QuantizeLinears(MainBody(*outcome->model, "rows", "body")), 1);
  for (const auto& [name, path] : BodyWeights()) EXPECT_NE(Record(*outcome, name, path), nullptr) << name;
  ExpectNearFp32OnBothBranches(*outcome->model, *model);
}

// Data that takes both branches: every body's activations are quantized.
TEST(BodyStageTest, StaticInt8WithBothBranchesTakenCalibratesEveryBody) {
  std::unique_ptr<Model> model = FromProto(BodiesModel(kFloat));
  Result<QuantizeOutcome> outcome = QuantizeStatic(*model, {1.0f, -1.0f});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_TRUE(NotCalibrated(*outcome).empty());
  for (const char* branch : {"If 'gate'/then_branch", "If 'gate'/else_branch"}) {
    EXPECT_NE(ActivationRecord(*outcome, "X", branch), nullptr) << branch;
  }
  EXPECT_GE(QuantizeLinears(MainBody(*outcome->model, "gate", "else_branch")), 1);
  ExpectNearFp32OnBothBranches(*outcome->model, *model);
}

// A .pqcal gathered by `pq calibrate` holds the values of the bodies its
// samples ran (by scoped name), so --calib-stats calibrates the bodies as
// --calib does: the same ranges (min/max is exact from the statistics), the
// same bodies left float, and the reason when the file holds no body value.
TEST(BodyStageTest, StaticInt8FromStatisticsCalibratesTheBodiesAsCalibDataDoes) {
  testing::TempDir dir;
  const onnx::ModelProto proto = BodiesModel(kFloat);
  testing::WriteFile(dir.File("m.onnx"), proto.SerializeAsString());
  CalibrateJob job;
  job.model_path = dir.File("m.onnx");
  job.calib_paths = {WriteCalibration(dir, {1.0f})};
  job.output_path = dir.File("m.pqcal");
  Result<CalibrateJobResult> gathered = RunCalibrateJob(job, {});
  ASSERT_TRUE(gathered.ok()) << gathered.status().ToString();
  Result<CalibrationStatistics> stats = ReadCalibrationStatistics(job.output_path);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->tensors.count("If 'gate'/then_branch::X"), 1u);
  EXPECT_EQ(stats->tensors.count("Loop 'repeat'/body::y_in"), 1u);
  EXPECT_EQ(stats->tensors.count("If 'gate'/else_branch::X"), 0u) << "no sample took the else-branch";

  std::unique_ptr<Model> model = FromProto(proto);
  QuantizeOptions options;
  options.calibration_statistics = std::make_shared<const CalibrationStatistics>(stats.value());
  Result<QuantizeOutcome> from_stats = Quantize(*model, options, {});
  ASSERT_TRUE(from_stats.ok()) << from_stats.status().ToString();
  Result<QuantizeOutcome> from_data = QuantizeStatic(*model, {1.0f});
  ASSERT_TRUE(from_data.ok()) << from_data.status().ToString();
  ExpectOnlyTheElseBranchUncalibrated(*from_stats);
  for (const auto& [name, graph] : std::vector<std::pair<std::string, std::string>>{
           {"X", "If 'gate'/then_branch"}, {"y_in", "Loop 'repeat'/body"}, {"r", "Scan 'rows'/body"}}) {
    const QuantizedTensorRecord* a = ActivationRecord(*from_stats, name, graph);
    const QuantizedTensorRecord* b = ActivationRecord(*from_data, name, graph);
    ASSERT_NE(a, nullptr) << graph << "::" << name;
    ASSERT_NE(b, nullptr) << graph << "::" << name;
    ASSERT_TRUE(a->range.has_value() && b->range.has_value());
    EXPECT_EQ(a->range->observed_min, b->range->observed_min) << name;
    EXPECT_EQ(a->range->observed_max, b->range->observed_max) << name;
    EXPECT_EQ(a->params.scale, b->params.scale) << name;
    EXPECT_EQ(a->params.zero_point, b->params.zero_point) << name;
  }
  ExpectNearFp32OnBothBranches(*from_stats->model, *model);

  // Statistics without any body value (as an older pq gathered them).
  CalibrationStatistics main_only = stats.value();
  for (auto it = main_only.tensors.begin(); it != main_only.tensors.end();) {
    it = it->first.find("::") != std::string::npos ? main_only.tensors.erase(it) : std::next(it);
  }
  options.calibration_statistics = std::make_shared<const CalibrationStatistics>(main_only);
  Result<QuantizeOutcome> old_file = Quantize(*model, options, {});
  ASSERT_TRUE(old_file.ok()) << old_file.status().ToString();
  std::vector<std::string> reasons;
  EXPECT_EQ(NotCalibrated(*old_file, &reasons).size(), 4u);
  for (const std::string& reason : reasons) {
    EXPECT_NE(reason.find("holds no values inside bodies"), std::string::npos) << reason;
  }
}

// Without --calib data (main-graph ranges handed back): body activations are left float, saying why.
TEST(BodyStageTest, StaticInt8WithoutCalibDataLeavesBodyActivationsFloat) {
  std::unique_ptr<Model> model = FromProto(BodiesModel(kFloat));
  Result<QuantizeOutcome> calibrated = QuantizeStatic(*model, {1.0f, -1.0f});
  ASSERT_TRUE(calibrated.ok()) << calibrated.status().ToString();
  QuantizeOptions options;
  options.activation_stats = calibrated->activation_stats;  // main-graph ranges, handed back
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  std::vector<std::string> reasons;
  EXPECT_EQ(NotCalibrated(*outcome, &reasons),
            (std::set<std::string>{"If 'gate'/then_branch/then_mm:X", "If 'gate'/else_branch/else_mm:X",
                                   "Loop 'repeat'/body/loop_mm:y_in", "Scan 'rows'/body/scan_mm:r"}));
  for (const std::string& reason : reasons) EXPECT_NE(reason.find("--calib data"), std::string::npos) << reason;
  for (const auto& [name, path] : BodyWeights()) EXPECT_NE(Record(*outcome, name, path), nullptr) << name;
}

// An observer that asks for body values sees them under scoped names, once
// per run of the body; others see main-graph values only.
class NameCounter : public Observer {
 public:
  explicit NameCounter(bool bodies) : bodies_(bodies) {}
  void OnTensor(const std::string& name, const Tensor&) override { ++seen[name]; }
  bool ObservesBodies() const override { return bodies_; }
  std::map<std::string, int> seen;

 private:
  bool bodies_;
};

TEST(BodyStageTest, ObserverSeesBodyValuesUnderScopedNames) {
  std::unique_ptr<Model> model = FromProto(BodiesModel(kFloat));
  Result<std::unique_ptr<Executor>> executor = Executor::Create(*model, {});
  ASSERT_TRUE(executor.ok()) << executor.status().ToString();
  const std::vector<float> x = InputX(1.0f);
  Tensor t = Tensor::Allocate(kFloat, {kRows, kK}).value();
  std::memcpy(t.data<float>(), x.data(), x.size() * sizeof(float));
  NameCounter bodies(true), main_only(false);
  ASSERT_TRUE(executor.value()->Run({{"X", t}}, &bodies).ok());
  ASSERT_TRUE(executor.value()->Run({{"X", t}}, &main_only).ok());
  EXPECT_EQ(bodies.seen["If 'gate'/then_branch::t_out"], 1);
  EXPECT_EQ(bodies.seen["If 'gate'/then_branch::X"], 1) << "a main-graph value the branch reads";
  EXPECT_EQ(bodies.seen.count("If 'gate'/else_branch::e_out"), 0u) << "the branch not taken";
  EXPECT_EQ(bodies.seen.count("If 'gate'/else_branch::X"), 0u) << "the branch not taken";
  EXPECT_EQ(bodies.seen["Loop 'repeat'/body::y_in"], 3);
  EXPECT_EQ(bodies.seen["Loop 'repeat'/body::mm"], 3);
  EXPECT_EQ(bodies.seen["Scan 'rows'/body::r"], kRows);
  EXPECT_EQ(bodies.seen["X"], 1);
  for (const auto& [name, count] : main_only.seen) EXPECT_EQ(name.find("::"), std::string::npos) << name;
  EXPECT_EQ(main_only.seen["X"], 1);
}

// The scale of a DequantizeLinear inside `graph`'s bodies, by its name.
const onnx::TensorProto* BodyInitializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& t : graph.initializer()) {
    if (t.name() == name) return &t;
  }
  for (const auto& node : graph.node()) {
    for (const auto& a : node.attribute()) {
      if (!a.has_g()) continue;
      if (const onnx::TensorProto* t = BodyInitializer(a.g(), name)) return t;
    }
  }
  return nullptr;
}

// float16 bodies as the main graph: opset raised to 19, scales in float16.
TEST(BodyStageTest, Float16BodiesGetFloat16Scales) {
  std::unique_ptr<Model> model = FromProto(BodiesModel(kFloat16));
  QuantizeOptions options;
  options.weights_only = true;
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(outcome->model->OpsetVersion(""), quant::kHalfQdqOpset);
  for (const auto& [name, path] : BodyWeights()) {
    const QuantizedTensorRecord* r = Record(*outcome, name, path);
    ASSERT_NE(r, nullptr) << name;
    const onnx::TensorProto* scale = BodyInitializer(outcome->model->proto().graph(), r->scale_name);
    ASSERT_NE(scale, nullptr) << r->scale_name;
    EXPECT_EQ(scale->data_type(), kFloat16) << name;
  }
  EXPECT_LE(RelativeL2(RunModel(*outcome->model, -1.0f), RunModel(*model, -1.0f)), kMaxRelL2Int8);
}

// Loop 'outer' whose body holds If 'inner': then MatMul(y, W_main) (a
// main-graph weight), else MatMul(y, W_loop) (the Loop body's initializer).
onnx::ModelProto NestedModel() {
  onnx::ModelProto model = BodiesModel(kFloat);
  onnx::GraphProto* g = model.mutable_graph();
  g->clear_node();
  g->clear_output();
  *g->add_initializer() = Weight("W_main", kK, kK, 5, kFloat);
  onnx::GraphProto* loop = AddBody(AddNode(g, "Loop", {"trip", "", "X"}, {"Y"}, "outer"), "body");
  *loop->add_initializer() = Weight("W_loop", kK, kK, 6, kFloat);
  AddInt(AddNode(loop, "ReduceSum", {"y_in"}, {"ys"}), "keepdims", 0);
  AddNode(loop, "Greater", {"ys", "zero"}, {"yc"});
  onnx::NodeProto* inner = AddNode(loop, "If", {"yc"}, {"branch"}, "inner");
  for (const auto& [attr, w] : {std::pair<std::string, std::string>{"then_branch", "W_main"}, {"else_branch", "W_loop"}}) {
    onnx::GraphProto* b = AddBody(inner, attr);
    AddNode(b, "MatMul", {"y_in", w}, {attr + "_mm"}, attr + "_mm");
    AddNode(b, "Tanh", {attr + "_mm"}, {attr + "_out"});
    Info(b->mutable_output(), attr + "_out", kFloat, {}, false);
  }
  AddNode(loop, "Identity", {"branch"}, {"y_out"});
  AddNode(loop, "Identity", {"cond_in"}, {"cond_out"});
  Info(loop->mutable_input(), "i", kInt64, {});
  Info(loop->mutable_input(), "cond_in", kBool, {});
  Info(loop->mutable_input(), "y_in", kFloat, {}, false);
  Info(loop->mutable_output(), "cond_out", kBool, {});
  Info(loop->mutable_output(), "y_out", kFloat, {}, false);
  Info(g->mutable_output(), "Y", kFloat, {kRows, kK});
  // Unused by the nested model.
  for (int i = g->initializer_size() - 1; i >= 0; --i) {
    const std::string& n = g->initializer(i).name();
    if (n == "W_shared" || n == "W_scan" || n == "s0") g->mutable_initializer()->DeleteSubrange(i, 1);
  }
  return model;
}

TEST(BodyStageTest, QuantizesBodiesNestedInBodies) {
  std::unique_ptr<Model> model = FromProto(NestedModel());
  ASSERT_NE(model, nullptr);
  QuantizeOptions options;
  options.scheme = "int4-sym";
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_NE(Record(*outcome, "W_main", "Loop 'outer'/body/If 'inner'/then_branch"), nullptr);
  EXPECT_NE(Record(*outcome, "W_loop", "Loop 'outer'/body/If 'inner'/else_branch"), nullptr);
  EXPECT_FALSE(HoldsFloat(outcome->model->proto().graph(), "W_main"));
  EXPECT_FALSE(HoldsFloat(outcome->model->proto().graph(), "W_loop"));
  for (float sign : {1.0f, -1.0f}) {
    EXPECT_LE(RelativeL2(RunModel(*outcome->model, sign), RunModel(*model, sign)), kMaxRelL2FourBit) << sign;
  }
}

// A body weight op whose weight is not a constant stays float, listed with
// the body path and the planner's reason.
TEST(BodyStageTest, ListsBodyWeightThatIsNotAConstant) {
  onnx::ModelProto proto = BodiesModel(kFloat);
  onnx::GraphProto* then_g = proto.mutable_graph()->mutable_node(2)->mutable_attribute(0)->mutable_g();
  then_g->mutable_node(0)->set_input(1, "main_mm");  // an activation of the main graph
  // main_mm is produced after the If: move the main MatMul before it.
  proto.mutable_graph()->mutable_node()->SwapElements(2, 3);
  std::unique_ptr<Model> model = FromProto(proto);
  ASSERT_NE(model, nullptr);
  QuantizeOptions options;
  options.weights_only = true;
  Result<QuantizeOutcome> outcome = Quantize(*model, options, {});
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(Record(*outcome, "main_mm", "If 'gate'/then_branch"), nullptr);
  bool listed = false;
  for (const SkippedRecord& s : outcome->skipped) {
    listed = listed || (s.node == "If 'gate'/then_branch/then_mm" &&
                        s.reason.rfind("inside the 'If 'gate'/then_branch' body: ", 0) == 0);
  }
  EXPECT_TRUE(listed);
  EXPECT_NE(Record(*outcome, "W_else", "If 'gate'/else_branch"), nullptr);
}

}  // namespace
}  // namespace pq
