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

Status Einsum(KernelContext& ctx) {
  std::string eq;
  for (char c : ctx.String("equation", "")) {
    if (c != ' ') eq += c;
  }
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<EinsumTerm> terms(1);
  for (size_t i = 0, start = 0; i <= lhs.size(); ++i) {
    if (i < lhs.size() && lhs[i] != ',') continue;
    if (!ParseEinsumTerm(lhs.substr(start, i - start), &terms.back())) {
      return ctx.Error("cannot parse equation '" + eq + "'");
    }
    if (i < lhs.size()) terms.emplace_back();
    start = i + 1;
  }
  const int n = ctx.num_inputs();
  if (static_cast<int>(terms.size()) != n) {
    return ctx.Error("equation '" + eq + "' has " + std::to_string(terms.size()) +
                     " operands, the node " + std::to_string(n));
  }
  int total_ellipsis = 0;
  for (int i = 0; i < n; ++i) {
    if (!ctx.has_input(i)) return ctx.Error("input " + std::to_string(i) + " is missing");
    const int explicit_rank = static_cast<int>(terms[static_cast<size_t>(i)].labels.size());
    const int rank = static_cast<int>(ctx.input(i).rank());
    const bool has_ellipsis = terms[static_cast<size_t>(i)].ellipsis_at >= 0;
    if (has_ellipsis ? rank < explicit_rank : rank != explicit_rank) {
      return ctx.Error("operand " + std::to_string(i) + " of rank " + std::to_string(rank) +
                       " does not match its term in '" + eq + "'");
    }
    total_ellipsis = std::max(total_ellipsis, rank - explicit_rank);
    if (ctx.input(i).dtype() != ctx.input(0).dtype()) return ctx.Error("operands differ in type");
  }
  // Per operand, one label per axis; the size of every label.
  const int kLabels = kEllipsisLabel + total_ellipsis;
  std::vector<int64_t> label_dim(static_cast<size_t>(kLabels), -1);
  std::vector<int> label_count(static_cast<size_t>(kLabels), 0);
  std::vector<std::vector<int>> axis_labels;
  for (int i = 0; i < n; ++i) {
    const Tensor& t = ctx.input(i);
    const EinsumTerm& term = terms[static_cast<size_t>(i)];
    axis_labels.push_back(ExpandTerm(term, static_cast<int>(t.rank()) -
                                               static_cast<int>(term.labels.size()),
                                     total_ellipsis));
    for (size_t a = 0; a < axis_labels.back().size(); ++a) {
      const int l = axis_labels.back()[a];
      int64_t& dim = label_dim[static_cast<size_t>(l)];
      const int64_t d = t.shape()[a];
      if (dim != -1 && dim != d && dim != 1 && d != 1) {
        return ctx.Error("label dims disagree: " + std::to_string(dim) + " vs " + std::to_string(d) +
                         " in '" + eq + "'");
      }
      dim = (dim == -1 || dim == 1) ? d : dim;
      ++label_count[static_cast<size_t>(l)];
    }
  }
  std::vector<int> out_labels;
  if (arrow != std::string::npos) {
    EinsumTerm out_term;
    if (!ParseEinsumTerm(eq.substr(arrow + 2), &out_term)) {
      return ctx.Error("cannot parse the output of equation '" + eq + "'");
    }
    // Without "..." in the output, the broadcast dims are summed away.
    const int out_ellipsis = out_term.ellipsis_at >= 0 ? total_ellipsis : 0;
    out_labels = ExpandTerm(out_term, out_ellipsis, total_ellipsis);
  } else {
    for (int k = 0; k < total_ellipsis; ++k) out_labels.push_back(kEllipsisLabel + k);
    // Letters used once, in character order (upper case first).
    for (int l = 26; l < 52; ++l) {
      if (label_count[static_cast<size_t>(l)] == 1) out_labels.push_back(l);
    }
    for (int l = 0; l < 26; ++l) {
      if (label_count[static_cast<size_t>(l)] == 1) out_labels.push_back(l);
    }
  }
  std::vector<bool> in_output(static_cast<size_t>(kLabels), false);
  for (int l : out_labels) {
    if (label_dim[static_cast<size_t>(l)] < 0 || in_output[static_cast<size_t>(l)]) {
      return ctx.Error("output labels of '" + eq + "' must be distinct input labels");
    }
    in_output[static_cast<size_t>(l)] = true;
  }
  // Loop order: output labels, then the summed ones.
  std::vector<int> loop = out_labels;
  for (int l = 0; l < kLabels; ++l) {
    if (label_dim[static_cast<size_t>(l)] >= 0 && !in_output[static_cast<size_t>(l)]) loop.push_back(l);
  }
  std::vector<int64_t> loop_dim, out_shape;
  for (int l : loop) loop_dim.push_back(label_dim[static_cast<size_t>(l)]);
  out_shape.assign(loop_dim.begin(), loop_dim.begin() + static_cast<int64_t>(out_labels.size()));
  // strides[i][j]: step of operand i along loop label j (0 when broadcast).
  std::vector<std::vector<int64_t>> strides(static_cast<size_t>(n),
                                            std::vector<int64_t>(loop.size(), 0));
  for (int i = 0; i < n; ++i) {
    const std::vector<int64_t> dense = DenseStrides(ctx.input(i).shape());
    for (size_t a = 0; a < dense.size(); ++a) {
      if (ctx.input(i).shape()[a] == 1) continue;
      const size_t j = static_cast<size_t>(
          std::find(loop.begin(), loop.end(), axis_labels[static_cast<size_t>(i)][a]) - loop.begin());
      strides[static_cast<size_t>(i)][j] += dense[a];
    }
  }
  const int32_t dtype = ctx.input(0).dtype();
  Result<Tensor> out = ctx.Allocate(dtype, out_shape);
  if (!out.ok()) return out.status();
  const size_t n_out = out_labels.size(), n_loop = loop.size();
  const int64_t sum_count = Product(loop_dim, n_out, n_loop);
  const bool typed = ForNumericType(dtype, [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;
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
