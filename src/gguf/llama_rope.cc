// Rotary-embedding matching of llama_match.h: which convention the export
// rotates in, and the base, dims and table rows of its angles.
#include <cmath>

#include "gguf/llama_match.h"

namespace pq::gguf::internal {
namespace {

// The angle of frequency 0 at position 1 is base^0 = 1 rad; a table that
// differs more than this was scaled (linear / NTK / YaRN), which the llama
// architecture's plain rope cannot express.
constexpr double kUnitAngleTolerance = 1e-3;
// A fitted base this close (relatively) to an integer is that integer: the
// tables are float32 roundings of an integer base in every known export.
constexpr double kBaseSnapTolerance = 1e-4;
// Tolerance for cos == 1 and sin == 0 at position 0, and for the two halves
// of a full-width table being equal.
constexpr float kTableTolerance = 1e-6f;

// Least-squares fit of ln(theta_i) = -(2i / dims) ln(base) over i >= 1 of
// `thetas` (frequency i's angle per position), snapped to an integer.
Result<double> FitBase(const std::vector<double>& thetas, int64_t dims, const std::string& where) {
  if (thetas.size() < 2) {
    return Status::NotSupported(where + ": rotary embedding with fewer than 4 rotated dims");
  }
  if (std::fabs(thetas[0] - 1.0) > kUnitAngleTolerance) {
    return Status::NotSupported(where + ": rotary angle of frequency 0 at position 1 is " +
                                std::to_string(thetas[0]) +
                                ", expected 1 (scaled rope is not supported)");
  }
  double xy = 0.0;
  double xx = 0.0;
  for (size_t i = 1; i < thetas.size(); ++i) {
    if (!(thetas[i] > 0.0)) {
      return Status::NotSupported(where + ": rotary angle of frequency " + std::to_string(i) +
                                  " is not positive");
    }
    const double x = 2.0 * static_cast<double>(i) / static_cast<double>(dims);
    xy += x * std::log(thetas[i]);
    xx += x * x;
  }
  double base = std::exp(-xy / xx);
  const double nearest = std::round(base);
  if (std::fabs(base - nearest) <= kBaseSnapTolerance * base) base = nearest;
  return base;
}

// The 2-D float constant a Gather reads by position, or nullptr.
const ConstantTensor* GatheredTable(const GraphView& view, const onnx::NodeProto& node) {
  if (node.op_type() != "Gather" || node.input_size() < 2) return nullptr;
  const std::optional<ConstantRef> ref = ResolveConstant(view, node.input(0));
  if (!ref || ref->transposed || ref->constant->dims.size() != 2) return nullptr;
  if (IntAttr(node, "axis", 0) != 0) return nullptr;
  return ref->constant;
}

// True when row 0 of a table is all `value` (cos: 1, sin: 0).
bool FirstRowIs(const std::vector<float>& table, int64_t cols, float value) {
  for (int64_t c = 0; c < cols; ++c) {
    if (std::fabs(table[c] - value) > kTableTolerance) return false;
  }
  return true;
}

// Rope from Cos/Sin of angles computed at run time: the inverse-frequency
// constant among the ancestors of the Cos node.
Result<RopeMatch> RopeFromInvFreq(const GraphView& view, const onnx::NodeProto& cos,
                                  const std::string& where) {
  const std::vector<const onnx::NodeProto*> ancestors =
      BackwardClosure(view, cos.input(0), {}, nullptr);
  for (const onnx::NodeProto* node : ancestors) {
    for (const auto& in : node->input()) {
      const ConstantTensor* constant = view.Constant(in);
      if (constant == nullptr || constant->element_count < 2) continue;
      Result<std::vector<float>> values = ConstantFloats(*constant);
      if (!values.ok() || (*values)[0] != 1.0f) continue;
      bool decreasing = true;
      for (size_t i = 1; i < values->size(); ++i) {
        decreasing = decreasing && (*values)[i] > 0.0f && (*values)[i] < (*values)[i - 1];
      }
      if (!decreasing) continue;
      RopeMatch rope;
      rope.rope_dims = 2 * constant->element_count;
      const std::vector<double> thetas(values->begin(), values->end());
      Result<double> base = FitBase(thetas, rope.rope_dims, where);
      if (!base.ok()) return base.status();
      rope.base = *base;
      return rope;
    }
  }
  return Status::NotSupported(where + ": no inverse-frequency constant before node '" +
                              NodeLabel(cos) + "'");
}

}  // namespace

Result<RopeMatch> RopeFromTables(const ConstantTensor& cos, const ConstantTensor& sin, bool half_width,
                                 const std::string& where) {
  if (cos.dims.size() != 2 || cos.dims != sin.dims) {
    return Status::InvalidInput(where + ": rotary tables '" + cos.name + "' and '" + sin.name +
                                "' are not two [positions, dims] tables of one shape");
  }
  Result<std::vector<float>> c = ConstantFloats(cos);
  if (!c.ok()) return c.status();
  Result<std::vector<float>> s = ConstantFloats(sin);
  if (!s.ok()) return s.status();
  const int64_t rows = cos.dims[0];
  const int64_t cols = cos.dims[1];
  if (rows < 2) {
    return Status::NotSupported(where + ": rotary table '" + cos.name + "' has fewer than 2 rows");
  }
  RopeMatch rope;
  rope.context_length = rows;
  rope.rope_dims = 2 * cols;
  if (!half_width && cols % 2 == 0) {
    bool repeated = true;  // cat(freqs, freqs): the halves of every row agree
    for (int64_t r = 0; r < rows && repeated; ++r) {
      for (int64_t i = 0; i < cols / 2 && repeated; ++i) {
        repeated = std::fabs((*c)[r * cols + i] - (*c)[r * cols + cols / 2 + i]) <= kTableTolerance;
      }
    }
    if (repeated) rope.rope_dims = cols;
  }
  std::vector<double> thetas(static_cast<size_t>(rope.rope_dims / 2));
  for (size_t i = 0; i < thetas.size(); ++i) {
    thetas[i] = std::atan2(static_cast<double>((*s)[cols + i]), static_cast<double>((*c)[cols + i]));
  }
  Result<double> base = FitBase(thetas, rope.rope_dims, where);
  if (!base.ok()) return base.status();
  rope.base = *base;
  return rope;
}

Result<RopeMatch> MatchRope(const GraphView& view, const std::vector<const onnx::NodeProto*>& closure,
                            const std::string& where) {
  bool saw_neg = false;
  bool saw_step2 = false;
  const ConstantTensor* cos_table = nullptr;
  const ConstantTensor* sin_table = nullptr;
  const onnx::NodeProto* cos_node = nullptr;
  for (const onnx::NodeProto* node : closure) {
    const std::string& op = node->op_type();
    if (op == "RotaryEmbedding" && node->input_size() >= 4) {
      // com.microsoft: (x, position_ids, cos, sin); ONNX opset 23: (x, cos, sin, position_ids).
      const bool contrib = node->domain() == "com.microsoft";
      const std::optional<ConstantRef> c = ResolveConstant(view, node->input(contrib ? 2 : 1));
      const std::optional<ConstantRef> s = ResolveConstant(view, node->input(contrib ? 3 : 2));
      if (!c || !s) {
        return Status::NotSupported(where + ": node '" + NodeLabel(*node) +
                                    "' has no constant cos/sin caches");
      }
      Result<RopeMatch> rope = RopeFromTables(*c->constant, *s->constant, true, where);
      if (!rope.ok()) return rope.status();
      rope->half_split = IntAttr(*node, "interleaved", 0) == 0;
      return rope;
    }
    if (op == "Neg") saw_neg = true;
    if (op == "Slice" && node->input_size() >= 5) {
      const std::optional<double> step = ScalarOf(view, node->input(4));
      if (step && *step == 2.0) saw_step2 = true;
    }
    if (op == "Cos" && cos_node == nullptr) cos_node = node;
    if (const ConstantTensor* table = GatheredTable(view, *node)) {
      Result<std::vector<float>> values = ConstantFloats(*table);
      if (!values.ok()) continue;
      if (FirstRowIs(*values, table->dims[1], 1.0f)) cos_table = table;
      else if (FirstRowIs(*values, table->dims[1], 0.0f)) sin_table = table;
    }
  }
  if (!saw_neg) {
    return Status::NotSupported(where + ": no rotary embedding (RotaryEmbedding or a Neg of "
                                "rotate_half) between the q projection and the attention");
  }
  Result<RopeMatch> rope = Status::NotSupported(
      where + ": rotary embedding without cos/sin tables or Cos/Sin of computed angles");
  if (cos_table != nullptr && sin_table != nullptr) {
    rope = RopeFromTables(*cos_table, *sin_table, false, where);
  } else if (cos_node != nullptr) {
    rope = RopeFromInvFreq(view, *cos_node, where);
  }
  if (rope.ok()) rope->half_split = !saw_step2;
  return rope;
}

}  // namespace pq::gguf::internal
