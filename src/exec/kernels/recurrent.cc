// Recurrent kernels of pq's executor: RNN, GRU and LSTM (opset 7 on, the
// opset-14 `layout` included), float32. Each direction multiplies the whole
// input by W once (Eigen GEMM), then runs one H x R^T product per time step.
//
// Shapes (layout 0; layout 1 swaps the seq/batch axes of X and Y and puts
// batch first in the states):
//   X [seq, batch, input]           W [dirs, G*H, input]   R [dirs, G*H, H]
//   B [dirs, 2*G*H]  (Wb then Rb)   sequence_lens [batch]  P [dirs, 3*H]
//   initial_h/initial_c [dirs, batch, H]
//   Y [seq, dirs, batch, H]         Y_h/Y_c [dirs, batch, H]
// G is the gate count: RNN 1, GRU 3 (z r h), LSTM 4 (i o f c).
// Batch entries shorter than seq leave zeros in Y past their length; their
// Y_h/Y_c are the states after their last step. The reverse direction walks
// each sequence from its own last step back to step 0.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "exec/kernel.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix>;
using Map = Eigen::Map<RowMatrix>;

enum class CellKind { kRnn, kGru, kLstm };

// One row per op: gate count, activation functions per direction and their
// defaults, and how many outputs it has.
struct CellSpec {
  CellKind kind;
  int gates;
  int functions;
  const char* default_activations[3];
  int outputs;
};

constexpr CellSpec kRnnSpec = {CellKind::kRnn, 1, 1, {"Tanh", "", ""}, 2};
constexpr CellSpec kGruSpec = {CellKind::kGru, 3, 2, {"Sigmoid", "Tanh", ""}, 2};
constexpr CellSpec kLstmSpec = {CellKind::kLstm, 4, 3, {"Sigmoid", "Tanh", "Tanh"}, 3};

enum class Activation { kSigmoid, kTanh, kRelu, kSoftsign, kSoftplus };

// The activations that take no alpha/beta; others are refused as unsupported.
bool ParseActivation(std::string name, Activation* out) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (name == "sigmoid") *out = Activation::kSigmoid;
  else if (name == "tanh") *out = Activation::kTanh;
  else if (name == "relu") *out = Activation::kRelu;
  else if (name == "softsign") *out = Activation::kSoftsign;
  else if (name == "softplus") *out = Activation::kSoftplus;
  else return false;
  return true;
}

float Apply(Activation a, float x) {
  switch (a) {
    case Activation::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Activation::kTanh: return std::tanh(x);
    case Activation::kRelu: return x > 0.0f ? x : 0.0f;
    case Activation::kSoftsign: return x / (1.0f + std::fabs(x));
    case Activation::kSoftplus: return std::log1p(std::exp(x));
  }
  return x;
}

// Everything a cell needs, checked against the tensors before any read.
struct Setup {
  int64_t seq = 0, batch = 0, input = 0, hidden = 0, dirs = 1;
  bool batch_major = false;  // layout 1
  bool reverse = false;  // direction "reverse" (direction 1 of bidirectional is reverse too)
  std::vector<int64_t> lens;  // per batch entry, in [0, seq]; empty = all seq
  std::vector<Activation> activations;  // functions per direction, dir 0 first
  float clip = 0.0f;  // 0 = none
  bool linear_before_reset = false;  // GRU
  bool input_forget = false;  // LSTM

  int64_t Length(int64_t b) const { return lens.empty() ? seq : lens[static_cast<size_t>(b)]; }
  // Row of X (and of X*W^T) holding time step t of batch entry b.
  int64_t XRow(int64_t t, int64_t b) const { return batch_major ? b * seq + t : t * batch + b; }
  // Offset of Y[t, d, b, :] (layout 0) or Y[b, t, d, :] (layout 1).
  int64_t YOffset(int64_t t, int64_t d, int64_t b) const {
    return (batch_major ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * hidden;
  }
  // Offset of a state's [d, b, :] (layout 0) or [b, d, :] (layout 1).
  int64_t StateOffset(int64_t d, int64_t b) const {
    return (batch_major ? b * dirs + d : d * batch + b) * hidden;
  }
  std::vector<int64_t> StateShape() const {
    return batch_major ? std::vector<int64_t>{batch, dirs, hidden}
                       : std::vector<int64_t>{dirs, batch, hidden};
  }
};

// Checks input `i` (when present) is float with exactly `shape`.
Status CheckShape(const KernelContext& ctx, int i, const char* name,
                  const std::vector<int64_t>& shape) {
  if (!ctx.has_input(i)) return Status::OK();
  const Tensor& t = ctx.input(i);
  if (t.dtype() != kFloat) return ctx.Error(std::string(name) + " must be float like X");
  if (t.shape() != shape) {
    return ctx.Error(std::string(name) + " has shape " + ShapeToString(t.shape()) +
                     ", expected " + ShapeToString(shape));
  }
  return Status::OK();
}

// Reads the attributes and checks every input's shape. Inputs: X, W, R, B,
// sequence_lens, initial_h, then initial_c and P for LSTM.
Status Prepare(const KernelContext& ctx, const CellSpec& spec, Setup* s) {
  if (!ctx.has_input(0) || !ctx.has_input(1) || !ctx.has_input(2)) {
    return ctx.Error("X, W and R are required");
  }
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor& r = ctx.input(2);
  if (x.dtype() != kFloat) return ctx.Unsupported("only float X is supported");
  if (w.dtype() != kFloat || r.dtype() != kFloat) return ctx.Error("W and R must be float like X");
  if (x.rank() != 3 || w.rank() != 3 || r.rank() != 3) {
    return ctx.Error("X, W and R must be 3-D, got " + ShapeToString(x.shape()) + ", " +
                     ShapeToString(w.shape()) + ", " + ShapeToString(r.shape()));
  }
  const int64_t layout = ctx.opset() >= 14 ? ctx.Int("layout", 0) : 0;
  if (layout != 0 && layout != 1) {
    return ctx.Error("layout must be 0 or 1, got " + std::to_string(layout));
  }
  s->batch_major = layout == 1;
  s->seq = s->batch_major ? x.dim(1) : x.dim(0);
  s->batch = s->batch_major ? x.dim(0) : x.dim(1);
  s->input = x.dim(2);

  const std::string direction = ctx.String("direction", "forward");
  s->reverse = direction == "reverse";
  if (direction == "bidirectional") s->dirs = 2;
  else if (direction != "forward" && direction != "reverse") {
    return ctx.Error("direction must be forward, reverse or bidirectional, got '" + direction +
                     "'");
  }
  // hidden_size is R's last dim; the attribute, when given, must agree.
  s->hidden = r.dim(2);
  // A zero dim lets a tensor's other dims be anything: bound the products
  // used below (G*H, 2*G*H, seq*batch) before computing them.
  if (s->hidden > (int64_t{1} << 40) ||
      !CheckedElementCount(std::vector<int64_t>{s->seq, s->batch})) {
    return ctx.Error("X " + ShapeToString(x.shape()) + " or R " + ShapeToString(r.shape()) +
                     " has dims too large");
  }
  if (ctx.HasAttr("hidden_size") && ctx.Int("hidden_size", 0) != s->hidden) {
    return ctx.Error("hidden_size " + std::to_string(ctx.Int("hidden_size", 0)) +
                     " does not match R " + ShapeToString(r.shape()));
  }
  if (s->hidden <= 0) {
    return ctx.Error("hidden_size must be positive, R is " + ShapeToString(r.shape()));
  }
  const int64_t gh = spec.gates * s->hidden;  // R's dims bound it: no overflow
  PQ_RETURN_IF_ERROR(CheckShape(ctx, 1, "W", {s->dirs, gh, s->input}));
  PQ_RETURN_IF_ERROR(CheckShape(ctx, 2, "R", {s->dirs, gh, s->hidden}));
  PQ_RETURN_IF_ERROR(CheckShape(ctx, 3, "B", {s->dirs, 2 * gh}));
  PQ_RETURN_IF_ERROR(CheckShape(ctx, 5, "initial_h", s->StateShape()));
  if (spec.kind == CellKind::kLstm) {
    PQ_RETURN_IF_ERROR(CheckShape(ctx, 6, "initial_c", s->StateShape()));
    PQ_RETURN_IF_ERROR(CheckShape(ctx, 7, "P", {s->dirs, 3 * s->hidden}));
  }

  if (ctx.has_input(4)) {
    const Tensor& lens = ctx.input(4);
    if (lens.shape() != std::vector<int64_t>{s->batch}) {
      return ctx.Error("sequence_lens has shape " + ShapeToString(lens.shape()) + ", expected [" +
                       std::to_string(s->batch) + "]");
    }
    Result<std::vector<int64_t>> values = ctx.InputAsInts(4);
    if (!values.ok()) return values.status();
    s->lens = std::move(values).value();
    for (size_t b = 0; b < s->lens.size(); ++b) {
      const int64_t len = s->lens[b];
      if (len < 0 || len > s->seq) {
        return ctx.Error("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) +
                         " is outside [0, " + std::to_string(s->seq) + "]");
      }
    }
  }

  std::vector<std::string> names;
  for (const onnx::AttributeProto& a : ctx.node().attribute()) {
    if (a.name() == "activations") names.assign(a.strings().begin(), a.strings().end());
  }
  const size_t per_dir = static_cast<size_t>(spec.functions);
  if (names.empty()) {
    for (size_t f = 0; f < per_dir; ++f) names.push_back(spec.default_activations[f]);
  }
  if (names.size() == per_dir && s->dirs == 2) {
    const std::vector<std::string> forward = names;  // the reverse direction reuses them
    names.insert(names.end(), forward.begin(), forward.end());
  }
  if (names.size() != per_dir * static_cast<size_t>(s->dirs)) {
    return ctx.Error("activations lists " + std::to_string(names.size()) + " functions, expected " +
                     std::to_string(per_dir * static_cast<size_t>(s->dirs)));
  }
  for (const std::string& n : names) {
    Activation a;
    if (!ParseActivation(n, &a)) return ctx.Unsupported("activation '" + n + "'");
    s->activations.push_back(a);
  }

  s->clip = ctx.HasAttr("clip") ? ctx.Float("clip", 0.0f) : 0.0f;
  if (ctx.HasAttr("clip") && !(s->clip > 0.0f)) {
    return ctx.Error("clip must be positive, got " + std::to_string(s->clip));
  }
  s->linear_before_reset = ctx.Int("linear_before_reset", 0) != 0;
  s->input_forget = ctx.Int("input_forget", 0) != 0;
  return Status::OK();
}

// Working memory of one direction, views of one checked allocation: the
// gates [batch, G*H], then the states and temporaries [batch, H] each.
struct Work {
  Map gates, h, c, h_new, c_new, reset_h;
};

void LoadState(const KernelContext& ctx, int i, const Setup& s, int64_t d, Map* m) {
  m->setZero();
  if (!ctx.has_input(i)) return;
  const float* src = ctx.input(i).data<float>();
  for (int64_t b = 0; b < s.batch; ++b) {
    std::copy_n(src + s.StateOffset(d, b), s.hidden, m->row(b).data());
  }
}

void StoreState(const Map& m, const Setup& s, int64_t d, Tensor* out) {
  if (out == nullptr) return;
  for (int64_t b = 0; b < s.batch; ++b) {
    std::copy_n(m.row(b).data(), s.hidden, out->data<float>() + s.StateOffset(d, b));
  }
}

float Clip(const Setup& s, float v) { return s.clip > 0.0f ? std::clamp(v, -s.clip, s.clip) : v; }

// Runs one direction `d` of the cell over the sequence, writing Y (if any)
// and leaving the final states in `state`.
// `xw` is X * W_d^T + Wb (+ the parts of Rb that simply add), [seq*batch, G*H].
void RunDirection(const KernelContext& ctx, const CellSpec& spec, const Setup& s, int64_t d,
                  const Map& xw, Work* work, Tensor* y) {
  const int64_t hs = s.hidden, gh = spec.gates * hs;
  const ConstMap r(ctx.input(2).data<float>() + d * gh * hs, gh, hs);
  const float* rb = ctx.has_input(3) ? ctx.input(3).data<float>() + d * 2 * gh + gh : nullptr;
  const float* p = spec.kind == CellKind::kLstm && ctx.has_input(7)
                       ? ctx.input(7).data<float>() + d * 3 * hs : nullptr;
  const Activation* act = s.activations.data() + d * spec.functions;
  const bool reverse = d == 1 || s.reverse;

  Map& gates = work->gates;
  Map& h_new = work->h_new;
  Map& c_new = work->c_new;
  Map& reset_h = work->reset_h;
  Work* state = work;
  std::vector<int64_t> t(static_cast<size_t>(s.batch));
  for (int64_t step = 0; step < s.seq; ++step) {
    // Time step of each batch entry at this step; -1 once it has ended.
    for (int64_t b = 0; b < s.batch; ++b) {
      const int64_t len = s.Length(b);
      t[static_cast<size_t>(b)] = step >= len ? -1 : (reverse ? len - 1 - step : step);
    }
    const int64_t recurrent_gates = spec.kind == CellKind::kGru ? 2 * hs : gh;
    gates.leftCols(recurrent_gates).noalias() = state->h * r.topRows(recurrent_gates).transpose();
    for (int64_t b = 0; b < s.batch; ++b) {
      const int64_t tb = t[static_cast<size_t>(b)];
      if (tb < 0) continue;
      gates.row(b).leftCols(recurrent_gates) += xw.row(s.XRow(tb, b)).leftCols(recurrent_gates);
    }
    if (spec.kind == CellKind::kRnn) {
      for (int64_t b = 0; b < s.batch; ++b) {
        for (int64_t j = 0; j < hs; ++j) h_new(b, j) = Apply(act[0], Clip(s, gates(b, j)));
      }
    } else if (spec.kind == CellKind::kGru) {
      // z (cols [0, H)) and r ([H, 2H)) first; then the candidate h.
      for (int64_t b = 0; b < s.batch; ++b) {
        for (int64_t j = 0; j < 2 * hs; ++j) gates(b, j) = Apply(act[0], Clip(s, gates(b, j)));
      }
      // The recurrent part of the candidate goes to cols [2H, 3H) of gates.
      const auto r_h = r.bottomRows(hs);
      if (s.linear_before_reset) {
        gates.rightCols(hs).noalias() = state->h * r_h.transpose();
        for (int64_t b = 0; b < s.batch; ++b) {
          for (int64_t j = 0; j < hs; ++j) {
            gates(b, 2 * hs + j) =
                gates(b, hs + j) * (gates(b, 2 * hs + j) + (rb != nullptr ? rb[2 * hs + j] : 0.0f));
          }
        }
      } else {
        reset_h = gates.middleCols(hs, hs).cwiseProduct(state->h);
        gates.rightCols(hs).noalias() = reset_h * r_h.transpose();
      }
      for (int64_t b = 0; b < s.batch; ++b) {
        const int64_t tb = t[static_cast<size_t>(b)];
        for (int64_t j = 0; j < hs; ++j) {
          const float pre = (tb >= 0 ? xw(s.XRow(tb, b), 2 * hs + j) : 0.0f) + gates(b, 2 * hs + j);
          const float cand = Apply(act[1], Clip(s, pre));
          const float z = gates(b, j);
          h_new(b, j) = (1.0f - z) * cand + z * state->h(b, j);
        }
      }
    } else {
      // LSTM gates in ONNX order i, o, f, c; peepholes P in order i, o, f.
      for (int64_t b = 0; b < s.batch; ++b) {
        for (int64_t j = 0; j < hs; ++j) {
          const float c_prev = state->c(b, j);
          const float i = Apply(act[0], Clip(s, gates(b, j) + (p ? p[j] * c_prev : 0.0f)));
          const float f = s.input_forget
                              ? 1.0f - i
                              : Apply(act[0], Clip(s, gates(b, 2 * hs + j) +
                                                          (p ? p[2 * hs + j] * c_prev : 0.0f)));
          const float g = Apply(act[1], Clip(s, gates(b, 3 * hs + j)));
          const float c = f * c_prev + i * g;
          const float o = Apply(act[0], Clip(s, gates(b, hs + j) + (p ? p[hs + j] * c : 0.0f)));
          c_new(b, j) = c;
          h_new(b, j) = o * Apply(act[2], c);
        }
      }
    }
    // Entries past their length keep their states and leave Y at zero.
    for (int64_t b = 0; b < s.batch; ++b) {
      const int64_t tb = t[static_cast<size_t>(b)];
      if (tb < 0) continue;
      state->h.row(b) = h_new.row(b);
      if (spec.kind == CellKind::kLstm) state->c.row(b) = c_new.row(b);
      if (y != nullptr) {
        std::copy_n(h_new.row(b).data(), hs, y->data<float>() + s.YOffset(tb, d, b));
      }
    }
  }
}

// True when output `i` is listed with a name.
bool Wanted(const KernelContext& ctx, int i) {
  return i < ctx.num_outputs() && !ctx.node().output(i).empty();
}

Status RunCell(KernelContext& ctx, const CellSpec& spec) {
  Setup s;
  PQ_RETURN_IF_ERROR(Prepare(ctx, spec, &s));
  const int64_t hs = s.hidden, gh = spec.gates * hs;
  std::vector<Tensor> outputs(static_cast<size_t>(spec.outputs));
  std::vector<Tensor*> out(static_cast<size_t>(spec.outputs), nullptr);
  for (int i = 0; i < spec.outputs; ++i) {
    if (!Wanted(ctx, i)) continue;
    const std::vector<int64_t> shape =
        i > 0 ? s.StateShape()
              : (s.batch_major ? std::vector<int64_t>{s.batch, s.seq, s.dirs, hs}
                               : std::vector<int64_t>{s.seq, s.dirs, s.batch, hs});
    Result<Tensor> t = ctx.Allocate(kFloat, shape);  // zeros: Y past each length
    if (!t.ok()) return t.status();
    outputs[static_cast<size_t>(i)] = std::move(t).value();
    out[static_cast<size_t>(i)] = &outputs[static_cast<size_t>(i)];
  }
  // X * W^T for every step at once, through a checked allocation.
  Result<Tensor> xw_buffer = ctx.AllocateUninitialized(kFloat, {s.seq * s.batch, gh});
  if (!xw_buffer.ok()) return xw_buffer.status();
  const ConstMap x(ctx.input(0).data<float>(), s.seq * s.batch, s.input);
  Result<Tensor> scratch = ctx.AllocateUninitialized(kFloat, {s.batch, gh + 5 * hs});
  if (!scratch.ok()) return scratch.status();
  float* base = scratch->data<float>();
  const int64_t n = s.batch;
  Work work{Map(base, n, gh),
            Map(base + n * gh, n, hs),
            Map(base + n * (gh + hs), n, hs),
            Map(base + n * (gh + 2 * hs), n, hs),
            Map(base + n * (gh + 3 * hs), n, hs),
            Map(base + n * (gh + 4 * hs), n, hs)};
  for (int64_t d = 0; d < s.dirs; ++d) {
    Map xw(xw_buffer->data<float>(), s.seq * s.batch, gh);
    const ConstMap w(ctx.input(1).data<float>() + d * gh * s.input, gh, s.input);
    xw.noalias() = x * w.transpose();
    if (ctx.has_input(3)) {
      const float* wb = ctx.input(3).data<float>() + d * 2 * gh;
      Eigen::Map<const Eigen::RowVectorXf> bias(wb, gh);
      Eigen::RowVectorXf sum = bias + Eigen::Map<const Eigen::RowVectorXf>(wb + gh, gh);
      // GRU with linear_before_reset keeps Rbh inside the reset product.
      if (spec.kind == CellKind::kGru && s.linear_before_reset) sum.tail(hs) = bias.tail(hs);
      xw.rowwise() += sum;
    }
    LoadState(ctx, 5, s, d, &work.h);
    if (spec.kind == CellKind::kLstm) LoadState(ctx, 6, s, d, &work.c);
    RunDirection(ctx, spec, s, d, xw, &work, out[0]);
    StoreState(work.h, s, d, out[1]);
    if (spec.kind == CellKind::kLstm) StoreState(work.c, s, d, out[2]);
  }
  for (int i = 0; i < spec.outputs; ++i) {
    const size_t k = static_cast<size_t>(i);
    if (out[k] != nullptr) ctx.set_output(i, std::move(outputs[k]));
  }
  return Status::OK();
}

Status Rnn(KernelContext& ctx) { return RunCell(ctx, kRnnSpec); }
Status Gru(KernelContext& ctx) { return RunCell(ctx, kGruSpec); }
Status Lstm(KernelContext& ctx) { return RunCell(ctx, kLstmSpec); }

}  // namespace

const std::vector<KernelDef>& RecurrentKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"RNN", "", 7, 0, Rnn},
      {"GRU", "", 7, 0, Gru},
      {"LSTM", "", 7, 0, Lstm},
  };
  return kKernels;
}

}  // namespace pq::exec
