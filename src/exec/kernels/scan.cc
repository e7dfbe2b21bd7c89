// Scan: opset 8 (a batch axis 0, sequence_lens, input directions) and opsets
// 9+ (scan_input_axes/directions, scan_output_axes/directions). The body runs
// once per element of the scanned axis through KernelContext::subgraphs().
#include <algorithm>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/control_flow_util.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

// What one scan over a sequence needs: the body, the scanned axis and
// direction of each scan input, and the sequence length.
struct ScanSpec {
  const SubgraphRunner* runner = nullptr;
  int states = 0;                 // N loop-carried state values
  std::vector<int64_t> axes;      // by scan input, normalized
  std::vector<bool> reverse;      // by scan input
  int64_t length = 0;
};

// The states after the last iteration and, by scan output, the body's
// per-iteration outputs.
struct ScanResult {
  std::vector<Tensor> states;
  std::vector<std::vector<Tensor>> parts;
};

// Runs the body `spec.length` times over `scans` (sliced along their axes).
// REQUIRES: every scan input has at least spec.length elements on its axis.
Result<ScanResult> ScanIterations(const KernelContext& ctx, const ScanSpec& spec,
                                  std::vector<Tensor> states, const std::vector<Tensor>& scans) {
  const onnx::GraphProto& body = *spec.runner->Body("body");
  ScanResult result;
  result.parts.resize(static_cast<size_t>(body.output_size() - spec.states));
  for (int64_t t = 0; t < spec.length; ++t) {
    std::vector<Tensor> inputs = states;
    for (size_t m = 0; m < scans.size(); ++m) {
      const int64_t index = spec.reverse[m] ? spec.length - 1 - t : t;
      Result<Tensor> slice = SliceAxis(ctx, scans[m], spec.axes[m], index);
      if (!slice.ok()) return slice.status();
      inputs.push_back(std::move(slice).value());
    }
    Result<std::vector<Tensor>> outs = spec.runner->Run("body", std::move(inputs));
    if (!outs.ok()) return outs.status();
    for (size_t k = 0; k < states.size(); ++k) {
      PQ_RETURN_IF_ERROR(CheckSameType(ctx, states[k], outs.value()[k], "state " + std::to_string(k)));
      states[k] = std::move(outs.value()[k]);
    }
    for (size_t j = 0; j < result.parts.size(); ++j) {
      result.parts[j].push_back(std::move(outs.value()[states.size() + j]));
    }
  }
  result.states = std::move(states);
  return result;
}

// Checks the body's input and output counts against the node's; returns
// the number of scan outputs K.
Result<int> CheckCounts(const KernelContext& ctx, const onnx::GraphProto& body, int states,
                        int scan_inputs) {
  if (body.input_size() != states + scan_inputs) {
    return ctx.Error("the body has " + std::to_string(body.input_size()) + " inputs, expected " +
                     std::to_string(states + scan_inputs) + " (" + std::to_string(states) +
                     " states and " + std::to_string(scan_inputs) + " scan inputs)");
  }
  if (body.output_size() < states || ctx.num_outputs() != body.output_size()) {
    return ctx.Error("has " + std::to_string(ctx.num_outputs()) + " outputs and its body " +
                     std::to_string(body.output_size()) + ", expected the same number, at least " +
                     std::to_string(states) + " (the states)");
  }
  return body.output_size() - states;
}

// Reads a per-input or per-output attribute list: `count` values, `def`
// where absent; axes are normalized against `ranks` when given.
Result<std::vector<int64_t>> ListAttr(const KernelContext& ctx, const char* name, size_t count,
                                      int64_t def, const std::vector<int64_t>* ranks) {
  std::vector<int64_t> v = ctx.Ints(name);
  if (!ctx.HasAttr(name)) v.assign(count, def);
  if (v.size() != count) {
    return ctx.Error(std::string("attribute '") + name + "' has " + std::to_string(v.size()) +
                     " values, expected " + std::to_string(count));
  }
  for (size_t i = 0; i < count && ranks != nullptr; ++i) {
    const int64_t r = (*ranks)[i];
    if (v[i] < -r || v[i] >= r) {
      return ctx.Error(std::string("attribute '") + name + "' value " + std::to_string(v[i]) +
                       " is out of range for rank " + std::to_string(r));
    }
    if (v[i] < 0) v[i] += r;
  }
  return v;
}

// Scan-9+: inputs are N states then M scan inputs (num_scan_inputs).
Status Scan9(KernelContext& ctx, const SubgraphRunner& runner) {
  const int m = static_cast<int>(ctx.Int("num_scan_inputs", -1));
  if (m < 1 || m > ctx.num_inputs()) return ctx.Error("attribute 'num_scan_inputs' is missing or out of range");
  ScanSpec spec;
  spec.runner = &runner;
  spec.states = ctx.num_inputs() - m;
  Result<int> k = CheckCounts(ctx, *runner.Body("body"), spec.states, m);
  if (!k.ok()) return k.status();
  std::vector<Tensor> states, scans;
  std::vector<int64_t> in_ranks;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error("input " + std::to_string(i) + " is missing");
    (i < spec.states ? states : scans).push_back(ctx.input(i));
    if (i >= spec.states) in_ranks.push_back(ctx.input(i).rank());
  }
  Result<std::vector<int64_t>> axes = ListAttr(ctx, "scan_input_axes", scans.size(), 0, &in_ranks);
  if (!axes.ok()) return axes.status();
  Result<std::vector<int64_t>> dirs = ListAttr(ctx, "scan_input_directions", scans.size(), 0, nullptr);
  if (!dirs.ok()) return dirs.status();
  spec.axes = axes.value();
  for (size_t i = 0; i < scans.size(); ++i) {
    const int64_t len = scans[i].dim(spec.axes[i]);
    if (i > 0 && len != spec.length) {
      return ctx.Error("scan input " + std::to_string(i) + " has " + std::to_string(len) +
                       " elements on its scan axis, scan input 0 has " + std::to_string(spec.length));
    }
    spec.length = len;
    spec.reverse.push_back(dirs.value()[i] != 0);
  }
  Result<ScanResult> result = ScanIterations(ctx, spec, std::move(states), scans);
  if (!result.ok()) return result.status();
  for (int s = 0; s < spec.states; ++s) ctx.set_output(s, std::move(result->states[static_cast<size_t>(s)]));
  const size_t outs = result->parts.size();
  Result<std::vector<int64_t>> out_dirs = ListAttr(ctx, "scan_output_directions", outs, 0, nullptr);
  if (!out_dirs.ok()) return out_dirs.status();
  Result<std::vector<int64_t>> out_axes_raw = ListAttr(ctx, "scan_output_axes", outs, 0, nullptr);
  if (!out_axes_raw.ok()) return out_axes_raw.status();
  const onnx::GraphProto& body = *runner.Body("body");
  for (size_t j = 0; j < outs; ++j) {
    std::vector<Tensor>& parts = result->parts[j];
    if (parts.empty()) {
      Result<Tensor> empty = EmptyStack(ctx, body.output(spec.states + static_cast<int>(j)));
      if (!empty.ok()) return empty.status();
      ctx.set_output(spec.states + static_cast<int>(j), std::move(empty).value());
      continue;
    }
    if (out_dirs.value()[j] != 0) std::reverse(parts.begin(), parts.end());
    const int64_t rank = parts[0].rank() + 1;
    int64_t axis = out_axes_raw.value()[j];
    if (axis < -rank || axis >= rank) return ctx.Error("scan_output_axes value " + std::to_string(axis) + " is out of range");
    if (axis < 0) axis += rank;
    Result<Tensor> stacked = StackAxis(ctx, parts, axis, "scan output " + std::to_string(j));
    if (!stacked.ok()) return stacked.status();
    ctx.set_output(spec.states + static_cast<int>(j), std::move(stacked).value());
  }
  return Status::OK();
}

// Scan-8: input 0 is sequence_lens (may be empty), then N states and M scan
// inputs, all with a batch axis 0; the sequence axis is 1. Each batch entry
// is scanned alone; scan outputs of a shorter sequence are zero-padded.
Status Scan8(KernelContext& ctx, const SubgraphRunner& runner) {
  const int m = static_cast<int>(ctx.Int("num_scan_inputs", -1));
  if (m < 1 || m > ctx.num_inputs() - 1) return ctx.Error("attribute 'num_scan_inputs' is missing or out of range");
  ScanSpec spec;
  spec.runner = &runner;
  spec.states = ctx.num_inputs() - 1 - m;
  Result<int> k = CheckCounts(ctx, *runner.Body("body"), spec.states, m);
  if (!k.ok()) return k.status();
  Result<std::vector<int64_t>> dirs = ListAttr(ctx, "directions", static_cast<size_t>(m), 0, nullptr);
  if (!dirs.ok()) return dirs.status();
  for (int64_t d : dirs.value()) spec.reverse.push_back(d != 0);
  spec.axes.assign(static_cast<size_t>(m), 0);
  int64_t batch = -1, max_len = -1;
  for (int i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.Error("input " + std::to_string(i) + " is missing");
    const Tensor& t = ctx.input(i);
    const bool scan = i > spec.states;
    if (t.rank() < (scan ? 2 : 1) || (batch >= 0 && t.dim(0) != batch)) {
      return ctx.Error("input " + std::to_string(i) + " " + ShapeToString(t.shape()) +
                       " lacks the batch axis (and for a scan input the sequence axis) the others have");
    }
    batch = t.dim(0);
    if (scan && max_len >= 0 && t.dim(1) != max_len) return ctx.Error("the scan inputs differ in sequence length");
    if (scan) max_len = t.dim(1);
  }
  std::vector<int64_t> lens(static_cast<size_t>(batch), max_len);
  if (ctx.has_input(0)) {
    Result<std::vector<int64_t>> given = ctx.InputAsInts(0);
    if (!given.ok()) return given.status();
    if (static_cast<int64_t>(given->size()) != batch) return ctx.Error("sequence_lens must have one value per batch entry");
    lens = given.value();
  }
  std::vector<std::vector<Tensor>> states_by_batch(static_cast<size_t>(spec.states));
  std::vector<std::vector<Tensor>> outs_by_batch(static_cast<size_t>(k.value()));
  for (int64_t b = 0; b < batch; ++b) {
    spec.length = lens[static_cast<size_t>(b)];
    if (spec.length < 1 || spec.length > max_len) {
      return ctx.Error("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(spec.length) +
                       " is outside [1, " + std::to_string(max_len) + "]");
    }
    std::vector<Tensor> states, scans;
    for (int i = 1; i < ctx.num_inputs(); ++i) {
      Result<Tensor> slice = SliceAxis(ctx, ctx.input(i), 0, b);
      if (!slice.ok()) return slice.status();
      (i <= spec.states ? states : scans).push_back(std::move(slice).value());
    }
    Result<ScanResult> result = ScanIterations(ctx, spec, std::move(states), scans);
    if (!result.ok()) return result.status();
    for (int s = 0; s < spec.states; ++s) {
      states_by_batch[static_cast<size_t>(s)].push_back(result->states[static_cast<size_t>(s)]);
    }
    for (size_t j = 0; j < outs_by_batch.size(); ++j) {
      std::vector<Tensor>& parts = result->parts[j];
      while (static_cast<int64_t>(parts.size()) < max_len) {  // zero padding
        Result<Tensor> zeros = ctx.Allocate(parts[0].dtype(), parts[0].shape());
        if (!zeros.ok()) return zeros.status();
        parts.push_back(std::move(zeros).value());
      }
      Result<Tensor> stacked = StackAxis(ctx, parts, 0, "scan output " + std::to_string(j));
      if (!stacked.ok()) return stacked.status();
      outs_by_batch[j].push_back(std::move(stacked).value());
    }
  }
  if (batch == 0) return ctx.Unsupported("an empty batch is not supported");
  for (int s = 0; s < spec.states + k.value(); ++s) {
    const auto& parts = s < spec.states ? states_by_batch[static_cast<size_t>(s)]
                                        : outs_by_batch[static_cast<size_t>(s - spec.states)];
    Result<Tensor> stacked = StackAxis(ctx, parts, 0, "output " + std::to_string(s));
    if (!stacked.ok()) return stacked.status();
    ctx.set_output(s, std::move(stacked).value());
  }
  return Status::OK();
}

Status Scan(KernelContext& ctx) {
  const SubgraphRunner* runner = ctx.subgraphs();
  if (runner == nullptr || runner->Body("body") == nullptr) {
    return ctx.Error("the graph attribute 'body' is missing");
  }
  return ctx.opset() >= 9 ? Scan9(ctx, *runner) : Scan8(ctx, *runner);
}

}  // namespace

const std::vector<KernelDef>& ScanKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Scan", "", 8, 0, Scan},
  };
  return kKernels;
}

}  // namespace pq::exec
