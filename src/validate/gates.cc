// Validation gates: bounds a comparison must meet, checked per output.
#include <cmath>
#include <cstdio>

#include "pq/validate.h"
#include "util/json_number.h"

namespace pq {
namespace {

bool HasClassification(const Comparison& c) {
  for (const OutputComparison& o : c.outputs) {
    if (o.classification.has_value()) return true;
  }
  return false;
}

std::string Number(double v) {
  if (std::isinf(v)) return InfinityName(v);
  if (std::isnan(v)) return "nan";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.4g", v);
  return buffer;
}

// Unit suffix and comparison of each gate.
struct GateKind {
  const char* name;
  const char* unit;
  bool lower_bound;  // measured >= bound passes (else measured <= bound)
};

const GateKind& KindOf(const std::string& gate) {
  static const GateKind kKinds[] = {
      {"min-sqnr", " dB", true},
      {"min-cosine", "", true},
      {"max-flip-rate", "", false},
      {"max-accuracy-drop", " points", false},
      {"max-class-flip-rate", "", false},
      {"max-group-drop", " points", false},
      {"max-ppl-increase", " %", false},
      {"max-kld", "", false},
      {"min-top1-agreement", "", true},
  };
  for (const GateKind& k : kKinds) {
    if (gate == k.name) return k;
  }
  return kKinds[0];
}

GateResult Check(const std::string& gate, const std::string& output, double measured, double bound,
                 std::string detail = "") {
  GateResult r;
  r.gate = gate;
  r.output = output;
  r.measured = measured;
  r.bound = bound;
  r.passed = KindOf(gate).lower_bound ? measured >= bound : measured <= bound;
  r.detail = std::move(detail);
  return r;
}

}  // namespace

bool Gates::empty() const {
  return !min_sqnr_db && !min_cosine && !max_flip_rate && !max_accuracy_drop_points &&
         !max_class_flip_rate && !max_group_drop_points && !max_ppl_increase_percent && !max_kld && !min_top1_agreement;
}

Result<std::vector<GateResult>> EvaluateGates(const Comparison& comparison, const Gates& gates) {
  const bool classification_gate = gates.max_flip_rate || gates.max_accuracy_drop_points ||
                                   gates.max_class_flip_rate || gates.max_group_drop_points;
  if (classification_gate && !HasClassification(comparison)) {
    return Status::InvalidArgument(
        "flip-rate and accuracy gates need a classification output, and no output of " +
        comparison.reference + " is classifier-like (rank 2, last axis = classes; or pass task "
        "classification)");
  }
  for (const OutputComparison& o : comparison.outputs) {
    if (!o.classification) continue;
    if ((gates.max_accuracy_drop_points || gates.max_group_drop_points) && !o.classification->has_labels) {
      return Status::InvalidArgument(std::string("gate ") +
                                     (gates.max_accuracy_drop_points ? "max-accuracy-drop" : "max-group-drop") +
                                     " needs labels (--labels PATH)");
    }
    if (gates.max_group_drop_points && o.classification->worst_group < 0) {
      return Status::InvalidArgument("gate max-group-drop needs group ids (--groups PATH)");
    }
  }
  const bool lm_gate = gates.max_ppl_increase_percent || gates.max_kld || gates.min_top1_agreement;
  if (lm_gate && !comparison.lm) {
    return Status::InvalidArgument(
        "perplexity, KL-divergence and top-1-agreement gates need language-model metrics (task lm: "
        "a decoder with input 'input_ids' and a logits output, fed token ids)");
  }
  std::vector<GateResult> results;
  for (const OutputComparison& o : comparison.outputs) {
    if (gates.min_sqnr_db) results.push_back(Check("min-sqnr", o.name, o.sqnr_db, *gates.min_sqnr_db));
    if (gates.min_cosine) results.push_back(Check("min-cosine", o.name, o.cosine, *gates.min_cosine));
    if (!o.classification) continue;
    const ClassificationMetrics& m = *o.classification;
    if (gates.max_flip_rate) {
      results.push_back(Check("max-flip-rate", o.name, m.flip_rate, *gates.max_flip_rate));
    }
    if (gates.max_accuracy_drop_points) {
      results.push_back(Check("max-accuracy-drop", o.name, m.accuracy_drop_points,
                              *gates.max_accuracy_drop_points));
    }
    if (gates.max_class_flip_rate) {
      results.push_back(Check("max-class-flip-rate", o.name, m.max_class_flip_rate,
                              *gates.max_class_flip_rate,
                              m.max_class_flip_class >= 0
                                  ? "class " + std::to_string(m.max_class_flip_class)
                                  : ""));
    }
    if (gates.max_group_drop_points && m.worst_group >= 0) {
      const GroupStats& g = m.per_group[static_cast<size_t>(m.worst_group)];
      results.push_back(Check("max-group-drop", o.name, g.DropPoints(), *gates.max_group_drop_points,
                              "group " + g.name));
    }
  }
  if (comparison.lm) {
    const LmMetrics& m = *comparison.lm;
    if (gates.max_ppl_increase_percent) {
      results.push_back(Check("max-ppl-increase", m.output, m.PerplexityIncreasePercent(),
                              *gates.max_ppl_increase_percent));
    }
    if (gates.max_kld) results.push_back(Check("max-kld", m.output, m.kld_mean, *gates.max_kld, "mean"));
    if (gates.min_top1_agreement) {
      results.push_back(Check("min-top1-agreement", m.output, m.top1_agreement, *gates.min_top1_agreement));
    }
  }
  return results;
}

bool AllGatesPassed(const std::vector<GateResult>& results) {
  for (const GateResult& r : results) {
    if (!r.passed) return false;
  }
  return true;
}

std::string DescribeGate(const GateResult& r) {
  const GateKind& kind = KindOf(r.gate);
  std::string line = "gate " + r.gate + (r.passed ? " passed" : " failed") + " on output '" +
                     r.output + "'";
  if (!r.detail.empty()) line += " (" + r.detail + ")";
  line += ": measured " + Number(r.measured) + kind.unit + ", bound " +
          (kind.lower_bound ? ">= " : "<= ") + Number(r.bound) + kind.unit;
  return line;
}

}  // namespace pq
