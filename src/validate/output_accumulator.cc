#include "validate/output_accumulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <utility>

#include "pq/data_type.h"
#include "validate/tensor_values.h"

namespace pq::validate {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// Index of the largest value of `row` (`n` entries); the first on ties.
int64_t ArgMax(const double* row, int64_t n) {
  int64_t best = 0;
  for (int64_t k = 1; k < n; ++k) {
    if (row[k] > row[best]) best = k;
  }
  return best;
}

bool SameNonFinite(double a, double b) {
  if (std::isnan(a) && std::isnan(b)) return true;
  return a == b;  // the same infinity
}

}  // namespace

void OutputErrorSums::Add(double reference, double candidate) {
  ++elements_;
  if (!std::isfinite(reference) || !std::isfinite(candidate)) {
    if (!SameNonFinite(reference, candidate)) {
      ++mismatches_;
      max_abs_ = kInfinity;
    }
    return;
  }
  const double d = reference - candidate;
  signal_ += reference * reference;
  noise_ += d * d;
  dot_ += reference * candidate;
  candidate_power_ += candidate * candidate;
  abs_sum_ += std::fabs(d);
  max_abs_ = std::max(max_abs_, std::fabs(d));
}

void OutputErrorSums::Fill(OutputComparison* out) const {
  out->elements = elements_;
  out->non_finite_mismatches = mismatches_;
  out->max_abs_error = max_abs_;
  out->mean_abs_error = mismatches_ > 0 ? kInfinity
                        : elements_ > 0 ? abs_sum_ / static_cast<double>(elements_)
                                        : 0.0;
  if (mismatches_ > 0) {
    out->sqnr_db = -kInfinity;
  } else if (noise_ == 0) {
    out->sqnr_db = kInfinity;
  } else if (signal_ == 0) {
    out->sqnr_db = -kInfinity;
  } else {
    out->sqnr_db = 10.0 * std::log10(signal_ / noise_);
  }
  if (noise_ == 0 && mismatches_ == 0) {
    out->cosine = 1.0;  // identical: exactly 1, whatever the rounding of the norms
  } else if (signal_ == 0 && candidate_power_ == 0) {
    out->cosine = 0.0;
  } else if (signal_ == 0 || candidate_power_ == 0) {
    out->cosine = 0.0;
  } else {
    out->cosine = dot_ / (std::sqrt(signal_) * std::sqrt(candidate_power_));
  }
}

Result<std::vector<double>> ToDoubles(const Tensor& t, const std::string& what) {
  std::optional<std::vector<double>> values = ConvertElements<double>(t);
  if (!values) {
    return Status::InvalidInput(what + " has element type " + DataTypeName(t.dtype()) +
                                ", which pq cannot compare");
  }
  return std::move(*values);
}

OutputAccumulator::OutputAccumulator(std::string name, TaskKind task,
                                     const std::vector<int64_t>* labels, std::string labels_origin)
    : name_(std::move(name)), task_(task), labels_(labels), labels_origin_(std::move(labels_origin)) {}

void OutputAccumulator::SetGroups(const std::vector<int64_t>* groups, const std::vector<std::string>* names,
                                  std::string origin) {
  groups_ = groups;
  group_names_ = names;
  groups_origin_ = std::move(origin);
}

Status OutputAccumulator::StartClassification(const Tensor& reference) {
  const int64_t last = reference.rank() > 0 ? reference.dim(reference.rank() - 1) : 0;
  const bool is_float = reference.dtype() == kFloat;
  bool wanted = false;
  if (task_ == TaskKind::kAuto) wanted = is_float && reference.rank() == 2 && last >= 2;
  if (task_ == TaskKind::kClassification) wanted = is_float && reference.rank() >= 2 && last >= 1;
  if (!wanted) return Status::OK();
  classes_ = last;
  per_class_.assign(static_cast<size_t>(classes_), ClassStats{});
  if (labels_ == nullptr) return Status::OK();
  for (size_t i = 0; i < labels_->size(); ++i) {
    const int64_t label = (*labels_)[i];
    if (label < 0 || label >= classes_) {
      return Status::InvalidInput(labels_origin_ + ": label " + std::to_string(label) +
                                  " of sample " + std::to_string(i) + " is outside [0, " +
                                  std::to_string(classes_) + ") (output '" + name_ + "' has " +
                                  std::to_string(classes_) + " classes)");
    }
  }
  return Status::OK();
}

Status OutputAccumulator::Add(const Tensor& reference, const Tensor& candidate,
                              int64_t first_sample, int64_t samples) {
  const std::string what = "output '" + name_ + "'";
  if (reference.shape() != candidate.shape()) {
    return Status::InvalidInput(what + ": the reference gives shape " +
                                ShapeToString(reference.shape()) + ", the candidate " +
                                ShapeToString(candidate.shape()));
  }
  std::vector<int64_t> trailing = reference.shape();
  if (!trailing.empty()) trailing.erase(trailing.begin());
  if (!started_) {
    started_ = true;
    trailing_shape_ = trailing;
    PQ_RETURN_IF_ERROR(StartClassification(reference));
  } else if (trailing != trailing_shape_) {
    return Status::InvalidInput(what + ": shape " + ShapeToString(reference.shape()) +
                                " differs from earlier batches");
  }
  Result<std::vector<double>> ref = ToDoubles(reference, what + " of the reference");
  if (!ref.ok()) return ref.status();
  Result<std::vector<double>> cand = ToDoubles(candidate, what + " of the candidate");
  if (!cand.ok()) return cand.status();
  for (size_t i = 0; i < ref->size(); ++i) sums_.Add((*ref)[i], (*cand)[i]);
  if (classes_ == 0) return Status::OK();
  return AddPredictions(*ref, *cand, reference.size() / classes_, first_sample, samples);
}

Status OutputAccumulator::AddPredictions(const std::vector<double>& reference,
                                         const std::vector<double>& candidate, int64_t rows,
                                         int64_t first_sample, int64_t samples) {
  const bool labelled = labels_ != nullptr;
  if (labelled && rows != samples) {
    return Status::InvalidInput(labels_origin_ + ": labels need one prediction per sample, but " +
                                "output '" + name_ + "' gives " + std::to_string(rows) +
                                " rows for " + std::to_string(samples) + " samples");
  }
  if (groups_ != nullptr && rows != samples) {
    return Status::InvalidInput(groups_origin_ + ": groups need one prediction per sample, but " +
                                "output '" + name_ + "' gives " + std::to_string(rows) +
                                " rows for " + std::to_string(samples) + " samples");
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t p_ref = ArgMax(&reference[static_cast<size_t>(r * classes_)], classes_);
    const int64_t p_cand = ArgMax(&candidate[static_cast<size_t>(r * classes_)], classes_);
    ClassStats& by_prediction = per_class_[static_cast<size_t>(p_ref)];
    ++rows_;
    ++by_prediction.reference_predicted;
    if (p_ref == p_cand) {
      ++agreements_;
    } else {
      ++by_prediction.flipped;
    }
    GroupStats* group = nullptr;
    if (groups_ != nullptr) {
      const int64_t id = (*groups_)[static_cast<size_t>(first_sample + r)];
      group = &per_group_[id];
      group->id = id;
      ++group->rows;
      if (p_ref != p_cand) ++group->flipped;
    }
    if (!labelled) continue;
    const int64_t label = (*labels_)[static_cast<size_t>(first_sample + r)];
    if (group != nullptr) {
      if (p_ref == label) ++group->reference_correct;
      if (p_cand == label) ++group->candidate_correct;
    }
    ClassStats& by_label = per_class_[static_cast<size_t>(label)];
    ++by_label.labelled;
    if (p_ref == label) {
      ++by_label.reference_correct;
      ++reference_correct_;
    }
    if (p_cand == label) {
      ++by_label.candidate_correct;
      ++candidate_correct_;
    }
  }
  return Status::OK();
}

OutputComparison OutputAccumulator::Finish() const {
  OutputComparison out;
  out.name = name_;
  sums_.Fill(&out);
  if (classes_ == 0) return out;
  ClassificationMetrics m;
  m.classes = classes_;
  m.rows = rows_;
  m.agreements = agreements_;
  m.top1_agreement = rows_ > 0 ? static_cast<double>(agreements_) / static_cast<double>(rows_) : 1.0;
  m.flip_rate = 1.0 - m.top1_agreement;
  m.per_class = per_class_;
  for (size_t c = 0; c < per_class_.size(); ++c) {
    const std::optional<double> rate = per_class_[c].FlipRate();
    if (rate.has_value() && (m.max_class_flip_class < 0 || *rate > m.max_class_flip_rate)) {
      m.max_class_flip_rate = *rate;
      m.max_class_flip_class = static_cast<int64_t>(c);
    }
  }
  m.has_labels = labels_ != nullptr;
  if (m.has_labels && rows_ > 0) {
    m.reference_accuracy = static_cast<double>(reference_correct_) / static_cast<double>(rows_);
    m.candidate_accuracy = static_cast<double>(candidate_correct_) / static_cast<double>(rows_);
    m.accuracy_drop_points = (m.reference_accuracy - m.candidate_accuracy) * 100.0;
  }
  // The worst group: the largest accuracy drop with labels, else the largest flip rate.
  auto badness = [&m](const GroupStats& g) { return m.has_labels ? g.DropPoints() : g.FlipRate(); };
  for (const auto& [id, stats] : per_group_) {
    GroupStats g = stats;
    const bool named = group_names_ != nullptr && id < static_cast<int64_t>(group_names_->size()) &&
                       !(*group_names_)[static_cast<size_t>(id)].empty();
    g.name = named ? (*group_names_)[static_cast<size_t>(id)] : std::to_string(id);
    if (m.worst_group < 0 || badness(g) > badness(m.per_group[static_cast<size_t>(m.worst_group)])) {
      m.worst_group = static_cast<int64_t>(m.per_group.size());
    }
    m.per_group.push_back(std::move(g));
  }
  out.classification = std::move(m);
  return out;
}

}  // namespace pq::validate

namespace pq {

double GroupStats::FlipRate() const {
  return rows > 0 ? static_cast<double>(flipped) / static_cast<double>(rows) : 0.0;
}

double GroupStats::DropPoints() const {
  return rows > 0 ? 100.0 * static_cast<double>(reference_correct - candidate_correct) / static_cast<double>(rows)
                  : 0.0;
}

std::optional<double> ClassStats::FlipRate() const {
  if (reference_predicted == 0) return std::nullopt;
  return static_cast<double>(flipped) / static_cast<double>(reference_predicted);
}

}  // namespace pq
