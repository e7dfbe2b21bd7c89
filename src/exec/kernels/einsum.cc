// The Einsum kernel: a direct evaluation over labels for any number of
// operands. Supports explicit ("ij,jk->ik") and implicit ("ij,jk") outputs,
// "..." broadcast dims, repeated labels in one operand (diagonals) and labels
// summed away. Float sums accumulate in double, integer sums in int64.

#include <algorithm>
#include <cctype>
#include <string>
#include <type_traits>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"

namespace pq::exec {
namespace movement {
namespace {

// Letters are labels 0..51; "..." dims are labels kEllipsisLabel + k.
constexpr int kEllipsisLabel = 52;

// One term of the equation: its labels, and where "..." stood (-1 if not).
struct EinsumTerm {
  std::vector<int> labels;  // letters only
  int ellipsis_at = -1;     // index into labels before which "..." stood
};

// Parses "ab...c"; returns false on characters that are not letters or one "...".
bool ParseEinsumTerm(const std::string& s, EinsumTerm* term) {
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '.') {
      if (term->ellipsis_at >= 0 || s.compare(i, 3, "...") != 0) return false;
      term->ellipsis_at = static_cast<int>(term->labels.size());
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      term->labels.push_back(std::islower(static_cast<unsigned char>(c)) ? c - 'a' : 26 + c - 'A');
    } else {
      return false;
    }
  }
  return true;
}

// Expands a term to one label per axis, "..." becoming the last
// `ellipsis_rank` of the `total_ellipsis` broadcast labels.
std::vector<int> ExpandTerm(const EinsumTerm& term, int ellipsis_rank, int total_ellipsis) {
  std::vector<int> out;
  for (size_t i = 0; i <= term.labels.size(); ++i) {
    if (static_cast<int>(i) == term.ellipsis_at) {
      for (int k = 0; k < ellipsis_rank; ++k) {
        out.push_back(kEllipsisLabel + total_ellipsis - ellipsis_rank + k);
      }
    }
    if (i < term.labels.size()) out.push_back(term.labels[i]);
  }
  return out;
}

// The equation of an Einsum node: spaces removed, the operand terms parsed.
struct EinsumEquation {
  std::string text;                   // the equation without spaces (for messages)
  size_t arrow = std::string::npos;   // where "->" stands, npos for an implicit output
  std::vector<EinsumTerm> terms;      // one per operand, in order
};

// Reads the "equation" attribute and parses its operand terms (the output
// term is parsed by OutputLabels). Errors on a term that does not parse.
Status ParseEquation(const KernelContext& ctx, EinsumEquation* eq) {
  for (char c : ctx.String("equation", "")) {
    if (c != ' ') eq->text += c;
  }
  eq->arrow = eq->text.find("->");
  const std::string lhs = eq->text.substr(0, eq->arrow);
  eq->terms.assign(1, EinsumTerm());
  for (size_t i = 0, start = 0; i <= lhs.size(); ++i) {
    if (i < lhs.size() && lhs[i] != ',') continue;
    if (!ParseEinsumTerm(lhs.substr(start, i - start), &eq->terms.back())) {
      return ctx.Error("cannot parse equation '" + eq->text + "'");
    }
    if (i < lhs.size()) eq->terms.emplace_back();
    start = i + 1;
  }
  return Status::OK();
}

// Checks that the node has one present operand per term, each of a rank its
// term allows and all of operand 0's type; sets *total_ellipsis to the most
// dims any operand's "..." stands for.
Status CheckOperands(const KernelContext& ctx, const EinsumEquation& eq, int* total_ellipsis) {
  const int n = ctx.num_inputs();
  if (static_cast<int>(eq.terms.size()) != n) {
    return ctx.Error("equation '" + eq.text + "' has " + std::to_string(eq.terms.size()) +
                     " operands, the node " + std::to_string(n));
  }
  *total_ellipsis = 0;
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) return ctx.Error("input " + std::to_string(i) + " is missing");
    const int explicit_rank = static_cast<int>(eq.terms[static_cast<size_t>(i)].labels.size());
    const int rank = static_cast<int>(ctx.input(i).rank());
    const bool has_ellipsis = eq.terms[static_cast<size_t>(i)].ellipsis_at >= 0;
    if (has_ellipsis ? rank < explicit_rank : rank != explicit_rank) {
      return ctx.Error("operand " + std::to_string(i) + " of rank " + std::to_string(rank) +
                       " does not match its term in '" + eq.text + "'");
    }
    *total_ellipsis = std::max(*total_ellipsis, rank - explicit_rank);
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) return ctx.Error("operands differ in type");
  }
  return Status::OK();
}

// The labels of an Einsum node bound to its operands' axes.
struct EinsumLabels {
  int total_ellipsis = 0;               // broadcast labels "..." stands for
  std::vector<std::vector<int>> axis;   // per operand, one label per axis
  std::vector<int64_t> dim;             // size of each label, -1 if unused
  std::vector<int> count;               // axes carrying each label
};

// Binds every operand axis to its label and sizes the labels (a size-1 axis
// broadcasts). REQUIRES: CheckOperands passed. Errors when sizes disagree.
Status BindLabels(const KernelContext& ctx, const EinsumEquation& eq, int total_ellipsis,
                  EinsumLabels* labels) {
  const int kLabels = kEllipsisLabel + total_ellipsis;
  labels->total_ellipsis = total_ellipsis;
  labels->dim.assign(static_cast<size_t>(kLabels), -1);
  labels->count.assign(static_cast<size_t>(kLabels), 0);
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor& t = ctx.input(i);
    const EinsumTerm& term = eq.terms[static_cast<size_t>(i)];
    labels->axis.push_back(ExpandTerm(term, static_cast<int>(t.rank()) -
                                                static_cast<int>(term.labels.size()),
                                      total_ellipsis));
    for (size_t a = 0; a < labels->axis.back().size(); ++a) {
      const int l = labels->axis.back()[a];
      int64_t& dim = labels->dim[static_cast<size_t>(l)];
      const int64_t d = t.shape()[a];
      if (dim != -1 && dim != d && dim != 1 && d != 1) {
        return ctx.Error("label dims disagree: " + std::to_string(dim) + " vs " + std::to_string(d) +
                         " in '" + eq.text + "'");
      }
      dim = (dim == -1 || dim == 1) ? d : dim;
      ++labels->count[static_cast<size_t>(l)];
    }
  }
  return Status::OK();
}

// The output's labels in order: the explicit output term, or (implicit) the
// broadcast labels then the letters used once. Errors on an output term that
// does not parse or whose labels repeat or appear in no operand.
Status OutputLabels(const KernelContext& ctx, const EinsumEquation& eq, const EinsumLabels& labels,
                    std::vector<int>* out_labels) {
  const int total_ellipsis = labels.total_ellipsis;
  if (eq.arrow != std::string::npos) {
    EinsumTerm out_term;
    if (!ParseEinsumTerm(eq.text.substr(eq.arrow + 2), &out_term)) {
      return ctx.Error("cannot parse the output of equation '" + eq.text + "'");
    }
    // Without "..." in the output, the broadcast dims are summed away.
    const int out_ellipsis = out_term.ellipsis_at >= 0 ? total_ellipsis : 0;
    *out_labels = ExpandTerm(out_term, out_ellipsis, total_ellipsis);
  } else {
    for (int k = 0; k < total_ellipsis; ++k) out_labels->push_back(kEllipsisLabel + k);
    // Letters used once, in character order (upper case first).
    for (int l = 26; l < 52; ++l) {
      if (labels.count[static_cast<size_t>(l)] == 1) out_labels->push_back(l);
    }
    for (int l = 0; l < 26; ++l) {
      if (labels.count[static_cast<size_t>(l)] == 1) out_labels->push_back(l);
    }
  }
  std::vector<bool> in_output(labels.dim.size(), false);
  for (int l : *out_labels) {
    if (labels.dim[static_cast<size_t>(l)] < 0 || in_output[static_cast<size_t>(l)]) {
      return ctx.Error("output labels of '" + eq.text + "' must be distinct input labels");
    }
    in_output[static_cast<size_t>(l)] = true;
  }
  return Status::OK();
}

// The nested loop an Einsum runs: output labels outermost, summed ones inside.
struct EinsumLoop {
  std::vector<int64_t> dim;                   // size of each loop label
  size_t n_out = 0;                           // the first n_out labels are the output's
  std::vector<std::vector<int64_t>> strides;  // [operand][label]: step, 0 when broadcast
};

// Orders the labels (output first, then the other used ones ascending) and
// gives each operand's step along each. REQUIRES: OutputLabels passed.
EinsumLoop PlanLoop(const KernelContext& ctx, const EinsumLabels& labels,
                    const std::vector<int>& out_labels) {
  const int n = ctx.num_inputs();
  std::vector<bool> in_output(labels.dim.size(), false);
  for (int l : out_labels) in_output[static_cast<size_t>(l)] = true;
  std::vector<int> loop = out_labels;
  for (int l = 0; l < static_cast<int>(labels.dim.size()); ++l) {
    if (labels.dim[static_cast<size_t>(l)] >= 0 && !in_output[static_cast<size_t>(l)]) loop.push_back(l);
  }
  EinsumLoop plan;
  for (int l : loop) plan.dim.push_back(labels.dim[static_cast<size_t>(l)]);
  plan.n_out = out_labels.size();
  plan.strides.assign(static_cast<size_t>(n), std::vector<int64_t>(loop.size(), 0));
  for (int i = 0; i < n; ++i) {
    const std::vector<int64_t> dense = DenseStrides(ctx.input(i).shape());
    for (size_t a = 0; a < dense.size(); ++a) {
      if (ctx.input(i).shape()[a] == 1) continue;
      const size_t j = static_cast<size_t>(
          std::find(loop.begin(), loop.end(), labels.axis[static_cast<size_t>(i)][a]) - loop.begin());
      plan.strides[static_cast<size_t>(i)][j] += dense[a];
    }
  }
  return plan;
}

// Writes every element of `out` (shaped by plan's output labels): the sum
// over the summed labels of the operands' product, accumulated in Acc.
template <typename T>
void EvaluateEinsum(const KernelContext& ctx, const EinsumLoop& plan, Tensor* out) {
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
  const int n = ctx.num_inputs();
  const size_t n_out = plan.n_out, n_loop = plan.dim.size();
  const std::vector<int64_t>& loop_dim = plan.dim;
  const std::vector<std::vector<int64_t>>& strides = plan.strides;
  const int64_t sum_count = Product(loop_dim, n_out, n_loop);
  T* dst = out->template data<T>();
  std::vector<const T*> src;
  for (int i = 0; i < n; ++i) src.push_back(ctx.input(i).template data<T>());
  std::vector<int64_t> counter(n_loop, 0), offset(static_cast<size_t>(n), 0);
  // Advances loop counters [0, last) and the operand offsets.
  auto advance = [&](size_t first, size_t last) {
    for (size_t j = last; j-- > first;) {
      for (int i = 0; i < n; ++i) offset[static_cast<size_t>(i)] += strides[static_cast<size_t>(i)][j];
      if (++counter[j] < loop_dim[j]) return;
      for (int i = 0; i < n; ++i) {
        offset[static_cast<size_t>(i)] -= strides[static_cast<size_t>(i)][j] * loop_dim[j];
      }
      counter[j] = 0;
    }
  };
  for (int64_t o = 0; o < out->size(); ++o) {
    Acc acc = 0;
    for (int64_t s = 0; s < sum_count; ++s) {
      Acc p = 1;
      for (int i = 0; i < n; ++i) {
        p *= static_cast<Acc>(src[static_cast<size_t>(i)][offset[static_cast<size_t>(i)]]);
      }
      acc += p;
      advance(n_out, n_loop);
    }
    dst[o] = static_cast<T>(acc);
    advance(0, n_out);
  }
}

Status Einsum(KernelContext& ctx) {
  EinsumEquation eq;
  PQ_RETURN_IF_ERROR(ParseEquation(ctx, &eq));
  int total_ellipsis = 0;
  PQ_RETURN_IF_ERROR(CheckOperands(ctx, eq, &total_ellipsis));
  EinsumLabels labels;
  PQ_RETURN_IF_ERROR(BindLabels(ctx, eq, total_ellipsis, &labels));
  std::vector<int> out_labels;
  PQ_RETURN_IF_ERROR(OutputLabels(ctx, eq, labels, &out_labels));
  const EinsumLoop plan = PlanLoop(ctx, labels, out_labels);
  const std::vector<int64_t> out_shape(plan.dim.begin(),
                                       plan.dim.begin() + static_cast<int64_t>(plan.n_out));
  const int32_t dtype = ctx.input(0).dtype();
  Result<Tensor> out = ctx.Allocate(dtype, out_shape);
  if (!out.ok()) return out.status();
  const bool typed = ForNumericType(dtype, [&](auto tag) {
    EvaluateEinsum<decltype(tag)>(ctx, plan, &out.value());
  });
  if (!typed) return ctx.Unsupported("Einsum of this type");
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace
}  // namespace movement

const std::vector<KernelDef>& EinsumKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"Einsum", "", 12, 0, movement::Einsum},
  };
  return kKernels;
}

}  // namespace pq::exec
