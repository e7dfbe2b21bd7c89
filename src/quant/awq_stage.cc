#include "quant/awq_stage.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "onnx/onnx_pb.h"
#include "quant/awq_fold.h"
#include "quant/awq_search.h"
#include "quant/blockwise_record.h"
#include "quant/finite_check.h"
#include "quant/matmul_replace.h"
#include "quant/weight_grid.h"
#include "util/json_number.h"

namespace pq::quant {
namespace {

// A planned blockwise weight AWQ can scale, as its [N, K] values.
struct Candidate {
  const PlannedConstant* c = nullptr;
  std::vector<float> nk;
  int64_t n = 0, k = 0;
  std::shared_ptr<const WeightGrid> grid;
};

// The activation every use of `c` reads when AWQ can scale `c`; else "" with
// `reason`.
std::string InputOf(const Model& model, const PlannedConstant& c, std::string* reason) {
  const onnx::GraphProto& graph = model.proto().graph();
  std::set<int> uses;
  std::string input;
  for (const Use& use : c.uses) {
    const onnx::NodeProto& node = graph.node(use.first);
    const std::string name = node.name().empty() ? "#" + std::to_string(use.first) : node.name();
    if ((node.op_type() != "MatMul" && node.op_type() != "Gemm") || use.second != 1 ||
        (node.op_type() == "Gemm" && AttrInt(node, "transA", 0) != 0)) {
      *reason = "awq scales the weights of MatMul and Gemm (transA = 0); " + node.op_type() + " '" + name +
                "' reads it otherwise";
      return "";
    }
    if (model.FindConstant(node.input(0)) != nullptr) {
      *reason = "the data input '" + node.input(0) + "' of " + node.op_type() + " '" + name +
                "' is a constant, so there are no calibration rows to weigh the error by";
      return "";
    }
    if (!input.empty() && input != node.input(0)) {
      *reason = "its uses read different inputs ('" + input + "', '" + node.input(0) + "'), which one scale cannot serve";
      return "";
    }
    input = node.input(0);
    uses.insert(use.first);
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (uses.count(i) == 0 && std::count(node.input().begin(), node.input().end(), c.tensor) != 0) {
      *reason = node.op_type() + " '" + (node.name().empty() ? "#" + std::to_string(i) : node.name()) +
                "' reads it too (e.g. a tied embedding), so it cannot be scaled in place";
      return "";
    }
  }
  for (const auto& out : graph.output()) {
    if (out.name() == c.tensor) {
      *reason = "it is a graph output, so it cannot be scaled in place";
      return "";
    }
  }
  if (input.empty()) *reason = "it has no uses";
  return input;
}

WeightRoundingRecord BaseRecord() {
  WeightRoundingRecord r;
  r.requested = "awq";
  r.applied = "rtn";
  return r;
}

}  // namespace

Result<AwqOutcome> ApplyAwq(const Model& prepared, const QuantPlan& plan, LayerHessians hessians, int threads) {
  AwqOutcome out;
  // Groups in plan order: the activation, then its weights.
  std::vector<std::pair<std::string, std::vector<Candidate>>> groups;
  for (const PlannedConstant& c : plan.constants) {
    if (c.role != TensorRole::kWeight || c.scheme == nullptr || c.table) continue;
    WeightRoundingRecord record = BaseRecord();
    std::shared_ptr<const WeightGrid> grid = GridOf(prepared, c, &record.fallback);
    if (grid == nullptr) {
      if (c.scheme->Grid(c.axis >= 0, false) != nullptr) out.records[c.tensor] = record;
      continue;
    }
    const std::string input = InputOf(prepared, c, &record.fallback);
    const ConstantTensor* source = prepared.FindConstant(c.tensor);
    if (source == nullptr || source->dims.size() != 2) return Status::Internal("planned weight '" + c.tensor + "' vanished");
    // Stored [K, N] unless read by Gemm transB = 1 (GridOf checked the uses agree).
    const onnx::NodeProto& first = prepared.proto().graph().node(c.uses.front().first);
    const bool kn = !(first.op_type() == "Gemm" && AttrInt(first, "transB", 0) != 0);
    Candidate cand{&c, {}, kn ? source->dims[1] : source->dims[0], kn ? source->dims[0] : source->dims[1], grid};
    auto h = input.empty() ? hessians.by_input.end() : hessians.by_input.find({input, false, cand.k});
    if (!input.empty() && (h == hessians.by_input.end() || h->second.abs_sum.size() != cand.k)) {
      record.fallback = "no X^T X and |x| sums were gathered for its input '" + input + "'";
    }
    if (!record.fallback.empty()) {
      out.records[c.tensor] = record;
      continue;
    }
    cand.nk = NkValues(*source, kn);
    PQ_RETURN_IF_ERROR(CheckFinite(c.tensor, cand.nk.data(), cand.n * cand.k));
    auto g = std::find_if(groups.begin(), groups.end(), [&](const auto& e) { return e.first == input; });
    if (g == groups.end()) {
      groups.push_back({input, {}});
      g = groups.end() - 1;
    }
    g->second.push_back(std::move(cand));
  }

  std::vector<InputScaling> scalings;
  std::vector<std::vector<std::string>> scaled_names;
  for (const auto& [input, weights] : groups) {
    const int64_t k = weights.front().k;
    const InputHessian& h = hessians.by_input.at({input, false, k});
    std::vector<AwqWeight> view;
    std::vector<std::string> names;
    for (const Candidate& cand : weights) {
      view.push_back({cand.nk.data(), cand.n, cand.grid.get()});
      names.push_back(cand.c->tensor);
    }
    const Eigen::VectorXd mean_abs = h.rows > 0 ? Eigen::VectorXd(h.abs_sum / static_cast<double>(h.rows))
                                                : Eigen::VectorXd::Zero(k);
    const AwqChoice choice = AwqSearch(view, k, h.xtx, mean_abs, threads);
    const auto [lo, hi] = std::minmax_element(choice.scales.begin(), choice.scales.end());
    for (size_t i = 0; i < weights.size(); ++i) {
      WeightRoundingRecord r = BaseRecord();
      r.inputs = {input};
      r.rows = h.rows;
      r.dead_inputs = (h.abs_sum.array() == 0).count();
      if (choice.error_rtn[i] >= 0) r.output_error_rtn = choice.error_rtn[i];
      if (choice.error_awq[i] >= 0) r.output_error = choice.error_awq[i];
      r.alpha = choice.alpha;
      r.scale_min = *lo;
      r.scale_max = *hi;
      r.scaled_with = names;
      if (choice.alpha > 0) {
        r.applied = "awq";
      } else {
        r.fallback = "alpha 0 (round to nearest) gave the lowest output error on the calibration data (" +
                     MessageNumber(choice.error_by_alpha.front()) + " summed over " + std::to_string(names.size()) +
                     " weight(s))";
      }
      out.records[names[i]] = std::move(r);
    }
    if (choice.alpha == 0) continue;
    InputScaling scaling{input, {}, choice.scales};
    for (const Candidate& cand : weights) {
      for (const Use& use : cand.c->uses) scaling.nodes.push_back(use.first);
    }
    std::sort(scaling.nodes.begin(), scaling.nodes.end());
    scaling.nodes.erase(std::unique(scaling.nodes.begin(), scaling.nodes.end()), scaling.nodes.end());
    scalings.push_back(std::move(scaling));
    scaled_names.push_back(names);
  }
  if (scalings.empty()) {
    out.hessians = std::move(hessians);
    return out;
  }

  Result<ScaledModel> scaled = ApplyInputScales(prepared, scalings);
  if (!scaled.ok()) return scaled.status();
  out.model = std::move(scaled->model);
  for (size_t g = 0; g < scalings.size(); ++g) {
    const InputScaling& s = scalings[g];
    const ScaleFold& fold = scaled->folds[g];
    const int64_t k = static_cast<int64_t>(s.scales.size());
    Eigen::VectorXd inverse(k);
    for (int64_t j = 0; j < k; ++j) inverse[j] = 1.0 / static_cast<double>(s.scales[static_cast<size_t>(j)]);
    // With a Mul inserted, the original input keeps its readers (and X^T X).
    InputHessian h = hessians.by_input.at({s.input, false, k});
    if (!fold.inserted) hessians.by_input.erase({s.input, false, k});
    h.xtx = inverse.asDiagonal() * h.xtx * inverse.asDiagonal();
    h.abs_sum = h.abs_sum.cwiseProduct(inverse);
    hessians.by_input[{fold.input, false, k}] = std::move(h);
    std::string list;
    for (const std::string& name : scaled_names[g]) {
      out.records[name].scales_folded_into = fold.folded_into;
      list += (list.empty() ? "'" : ", '") + name + "'";
    }
    out.transformations.push_back("awq: weights " + list + " scaled per input feature of '" + s.input +
                                  "' (alpha " + MessageNumber(out.records[scaled_names[g].front()].alpha.value()) +
                                  "), 1/s " + (fold.inserted ? "applied by a " : "folded into ") +
                                  fold.folded_into);
  }
  out.hessians = std::move(hessians);
  return out;
}

}  // namespace pq::quant
