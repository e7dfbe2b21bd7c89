// JSON renderings of comparisons and gates, with a fixed key order.
#include "pq/validate.h"
#include "util/json_number.h"

namespace pq {
namespace {

using nlohmann::ordered_json;

ordered_json Fraction(int64_t part, int64_t whole) {
  if (whole == 0) return nullptr;
  return static_cast<double>(part) / static_cast<double>(whole);
}

ordered_json ClassificationToJson(const ClassificationMetrics& m) {
  ordered_json j;
  j["classes"] = m.classes;
  j["rows"] = m.rows;
  j["top1_agreement"] = JsonNumber(m.top1_agreement);
  j["flip_rate"] = JsonNumber(m.flip_rate);
  j["max_class_flip_rate"] = JsonNumber(m.max_class_flip_rate);
  j["max_class_flip_class"] = m.max_class_flip_class >= 0 ? ordered_json(m.max_class_flip_class)
                                                          : ordered_json(nullptr);
  if (m.has_labels) {
    j["accuracy"] = {{"reference", JsonNumber(m.reference_accuracy)},
                     {"candidate", JsonNumber(m.candidate_accuracy)},
                     {"drop_points", JsonNumber(m.accuracy_drop_points)}};
  } else {
    j["accuracy"] = nullptr;
  }
  ordered_json per_class = ordered_json::array();
  for (size_t c = 0; c < m.per_class.size(); ++c) {
    const ClassStats& s = m.per_class[c];
    ordered_json row;
    row["class"] = c;
    row["reference_predicted"] = s.reference_predicted;
    row["flipped"] = s.flipped;
    row["flip_rate"] = Fraction(s.flipped, s.reference_predicted);
    if (m.has_labels) {
      row["labelled"] = s.labelled;
      row["reference_accuracy"] = Fraction(s.reference_correct, s.labelled);
      row["candidate_accuracy"] = Fraction(s.candidate_correct, s.labelled);
      row["drop_points"] = s.labelled > 0 ? ordered_json(100.0 * static_cast<double>(
                                                             s.reference_correct - s.candidate_correct) /
                                                         static_cast<double>(s.labelled))
                                          : ordered_json(nullptr);
    }
    per_class.push_back(std::move(row));
  }
  j["per_class"] = std::move(per_class);
  if (m.worst_group < 0) return j;  // no groups: the keys are absent, as before groups existed
  ordered_json per_group = ordered_json::array();
  for (const GroupStats& g : m.per_group) {
    ordered_json row;
    row["group"] = g.id;
    row["name"] = g.name;
    row["rows"] = g.rows;
    row["flipped"] = g.flipped;
    row["flip_rate"] = JsonNumber(g.FlipRate());
    if (m.has_labels) {
      row["reference_accuracy"] = Fraction(g.reference_correct, g.rows);
      row["candidate_accuracy"] = Fraction(g.candidate_correct, g.rows);
      row["drop_points"] = JsonNumber(g.DropPoints());
    }
    per_group.push_back(std::move(row));
  }
  j["per_group"] = std::move(per_group);
  j["worst_group"] = m.per_group[static_cast<size_t>(m.worst_group)].name;
  return j;
}

ordered_json LmToJson(const LmMetrics& m) {
  ordered_json j;
  j["output"] = m.output;
  j["positions"] = m.positions;
  j["perplexity_ref"] = JsonNumber(m.perplexity_ref);
  j["perplexity_cand"] = JsonNumber(m.perplexity_cand);
  j["perplexity_ratio"] = JsonNumber(m.perplexity_ratio);
  j["kld_mean"] = JsonNumber(m.kld_mean);
  j["kld_median"] = JsonNumber(m.kld_median);
  j["kld_p99"] = JsonNumber(m.kld_p99);
  j["kld_max"] = JsonNumber(m.kld_max);
  j["top1_agreement"] = JsonNumber(m.top1_agreement);
  return j;
}

ordered_json ThroughputToJson(const Throughput& t) {
  ordered_json j;
  j["ms_per_sample"] = JsonNumber(t.ms_per_sample);
  j["samples_per_second"] = JsonNumber(t.samples_per_second);
  j["quality"] = t.quality.empty() ? ordered_json(nullptr) : ordered_json(t.quality);
  j["quality_per_ms"] = t.quality_per_ms ? JsonNumber(*t.quality_per_ms) : ordered_json(nullptr);
  j["cost_per_1000"] = t.cost_per_1000 ? JsonNumber(*t.cost_per_1000) : ordered_json(nullptr);
  j["runs"] = t.runs;
  j["threads"] = t.threads;
  j["batch"] = t.batch;
  return j;
}

}  // namespace

ordered_json ComparisonToJson(const Comparison& c) {
  ordered_json j;
  j["reference"] = c.reference;
  j["candidate"] = c.candidate;
  j["samples"] = c.samples;
  j["batch"] = c.batch;
  j["size"] = {{"reference_bytes", c.reference_bytes},
               {"candidate_bytes", c.candidate_bytes},
               {"ratio", JsonNumber(c.size_ratio)}};
  ordered_json outputs = ordered_json::array();
  for (const OutputComparison& o : c.outputs) {
    ordered_json out = {
        {"name", o.name},
        {"elements", o.elements},
        {"sqnr_db", JsonNumber(o.sqnr_db)},
        {"cosine", JsonNumber(o.cosine)},
        {"max_abs_error", JsonNumber(o.max_abs_error)},
        {"mean_abs_error", JsonNumber(o.mean_abs_error)},
        {"non_finite_mismatches", o.non_finite_mismatches},
        {"classification",
         o.classification ? ClassificationToJson(*o.classification) : ordered_json(nullptr)}};
    outputs.push_back(std::move(out));
  }
  j["outputs"] = std::move(outputs);
  j["lm"] = c.lm ? LmToJson(*c.lm) : ordered_json(nullptr);
  if (c.reference_speed && c.candidate_speed) {
    j["speed"] = {{"measured_on", "pq's executor (median of the runs of the first batch, after one warm-up)"},
                  {"reference", ThroughputToJson(*c.reference_speed)},
                  {"candidate", ThroughputToJson(*c.candidate_speed)},
                  {"candidate_speedup", JsonNumber(c.candidate_speed->ms_per_sample > 0
                                                       ? c.reference_speed->ms_per_sample /
                                                             c.candidate_speed->ms_per_sample
                                                       : 0.0)}};
  } else {
    j["speed"] = nullptr;
  }
  return j;
}

ordered_json GatesToJson(const Gates& gates, const std::vector<GateResult>& results) {
  auto bound = [](const std::optional<double>& v) {
    return v ? JsonNumber(*v) : ordered_json(nullptr);
  };
  ordered_json j;
  j["bounds"] = {{"min_sqnr_db", bound(gates.min_sqnr_db)},
                 {"min_cosine", bound(gates.min_cosine)},
                 {"max_flip_rate", bound(gates.max_flip_rate)},
                 {"max_accuracy_drop_points", bound(gates.max_accuracy_drop_points)},
                 {"max_class_flip_rate", bound(gates.max_class_flip_rate)},
                 {"max_group_drop_points", bound(gates.max_group_drop_points)},
                 {"max_ppl_increase_percent", bound(gates.max_ppl_increase_percent)},
                 {"max_kld", bound(gates.max_kld)},
                 {"min_top1_agreement", bound(gates.min_top1_agreement)}};
  ordered_json list = ordered_json::array();
  for (const GateResult& r : results) {
    ordered_json g;
    g["gate"] = r.gate;
    g["output"] = r.output;
    g["measured"] = JsonNumber(r.measured);
    g["bound"] = JsonNumber(r.bound);
    g["passed"] = r.passed;
    g["detail"] = r.detail.empty() ? ordered_json(nullptr) : ordered_json(r.detail);
    list.push_back(std::move(g));
  }
  j["results"] = std::move(list);
  j["passed"] = AllGatesPassed(results);
  return j;
}

ordered_json ValidationToJson(const Comparison& comparison, const Gates& gates,
                              const std::vector<GateResult>& results) {
  ordered_json j;
  j["metrics"] = ComparisonToJson(comparison);
  j["gates"] = GatesToJson(gates, results);
  j["passed"] = AllGatesPassed(results);
  return j;
}

}  // namespace pq
