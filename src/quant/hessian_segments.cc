#include "quant/hessian_segments.h"

#include <algorithm>
#include <map>
#include <string>

#include "onnx/onnx_pb.h"

namespace pq::quant {
namespace {

// Where each value is produced: the step index, -1 for what no step
// produces (graph inputs).
class Producers {
 public:
  Producers(const onnx::GraphProto& graph, const std::vector<int>& step_nodes) {
    for (size_t s = 0; s < step_nodes.size(); ++s) {
      for (const std::string& out : graph.node(step_nodes[s]).output()) {
        if (!out.empty()) step_of_[out] = static_cast<int>(s);
      }
    }
  }
  int StepOf(const std::string& name) const {
    auto it = step_of_.find(name);
    return it == step_of_.end() ? -1 : it->second;
  }

 private:
  std::map<std::string, int> step_of_;
};

// By cut position c (the steps before c on one side): how many non-constant
// values are produced before c and read at or after it. Values that a
// control-flow body reads by name are not counted (a heuristic only: the
// executor keeps whatever is read).
std::vector<int> CrossingCounts(const Model& prepared, const std::vector<int>& step_nodes,
                                const Producers& producers) {
  const onnx::GraphProto& graph = prepared.proto().graph();
  std::map<std::string, int> last_read;
  for (size_t s = 0; s < step_nodes.size(); ++s) {
    for (const std::string& in : graph.node(step_nodes[s]).input()) {
      if (!in.empty() && prepared.FindConstant(in) == nullptr) last_read[in] = static_cast<int>(s);
    }
  }
  std::vector<int> delta(step_nodes.size() + 2, 0);
  for (const auto& [name, last] : last_read) {
    const int from = producers.StepOf(name) + 1;  // first cut it crosses
    if (from > last) continue;
    ++delta[static_cast<size_t>(from)];
    --delta[static_cast<size_t>(last) + 1];
  }
  std::vector<int> counts(step_nodes.size() + 1, 0);
  int running = 0;
  for (size_t c = 0; c < counts.size(); ++c) counts[c] = running += delta[c];
  return counts;
}

// The cut in [first, last] with the fewest crossing values; the earliest
// of equals.
size_t CheapestCut(const std::vector<int>& crossing, size_t first, size_t last) {
  size_t best = first;
  for (size_t c = first + 1; c <= last; ++c) {
    if (crossing[c] < crossing[best]) best = c;
  }
  return best;
}

}  // namespace

int64_t HessianBytes(const HessianInput& in) {
  return static_cast<int64_t>(sizeof(double)) * (in.k * in.k + in.k);
}

std::vector<HessianSegment> PlanHessianSegments(const Model& prepared, const std::vector<int>& step_nodes,
                                                const std::vector<HessianInput>& inputs, int64_t budget_bytes) {
  std::vector<HessianSegment> segments;
  if (inputs.empty()) return segments;
  const Producers producers(prepared.proto().graph(), step_nodes);
  std::vector<std::pair<int, size_t>> order;  // (producing step, index into inputs)
  for (size_t i = 0; i < inputs.size(); ++i) order.emplace_back(producers.StepOf(inputs[i].tensor), i);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // Group by producing step, then close a segment before a group that
  // would take it past the budget.
  std::vector<std::pair<int, int>> produced;  // by segment: first and last producing step
  int64_t bytes = 0;
  for (size_t g = 0; g < order.size();) {
    size_t next = g;
    int64_t group_bytes = 0;
    while (next < order.size() && order[next].first == order[g].first) {
      group_bytes += HessianBytes(inputs[order[next].second]);
      ++next;
    }
    if (segments.empty() || bytes + group_bytes > budget_bytes) {
      segments.emplace_back();
      produced.emplace_back(order[g].first, order[g].first);
      bytes = 0;
    }
    for (size_t i = g; i < next; ++i) segments.back().inputs.push_back(inputs[order[i].second]);
    produced.back().second = order[g].first;
    bytes += group_bytes;
    g = next;
  }
  const std::vector<int> crossing = CrossingCounts(prepared, step_nodes, producers);
  for (size_t s = 0; s + 1 < segments.size(); ++s) {
    const size_t cut = CheapestCut(crossing, static_cast<size_t>(produced[s].second + 1),
                                   static_cast<size_t>(produced[s + 1].first));
    segments[s].end = cut;
    segments[s + 1].begin = cut;
  }
  segments.back().end = static_cast<size_t>(produced.back().second + 1);
  return segments;
}

}  // namespace pq::quant
