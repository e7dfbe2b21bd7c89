// entropy: TensorRT's calibration. Among candidate clipping ranges it picks
// the one whose quantized histogram loses the least information: the least
// KL divergence between the clipped distribution P and its quantized form Q
// (see kl_divergence.h).
// - Symmetric grid: on the |x| histogram, candidate thresholds are the bin
//   edges from `levels` bins up to the last occupied bin, with levels =
//   (qmax - qmin) / 2 + 1 (128 for int8), as TensorRT does.
// - Asymmetric grid: on the x histogram, the WindowFamily windows at least
//   levels = qmax - qmin + 1 bins wide.
// Exact zeros (e.g. half of a ReLU's outputs) are taken out of the histogram
// first: every grid represents 0 exactly, so they lose no information, and
// left in, their spike would be smeared over a whole group of bins in Q and
// push the threshold down.
// Evaluating a candidate costs O(levels); the candidates are searched coarse
// to fine (candidate_search.h).
// Guard: no candidate may clip more than kMaxEntropyClippedFraction of the
// non-zero values. KL's optimum can sit on a spike and discard a whole mode
// (seen on a normalised image input whose background spike at -0.81 led
// the plain search to clip 29% of the pixels, every bright one); a range
// that throws away that much of a tensor is never what a user wants.
#include <algorithm>
#include <memory>

#include "calib/candidate_search.h"
#include "calib/histogram_calibrator.h"
#include "calib/kl_divergence.h"
#include "calib/methods.h"
#include "calib/range_builder.h"
#include "calib/window_family.h"

namespace pq::calib {
namespace {

constexpr double kMaxEntropyClippedFraction = 0.01;

// Counts of bins [u, end) of `line`, for every u (suffix sums).
std::vector<double> SuffixSums(const LineHistogram& line) {
  std::vector<double> out(line.counts.size() + 1, 0.0);
  for (size_t u = line.counts.size(); u-- > 0;) out[u] = out[u + 1] + line.counts[u];
  return out;
}

HistogramChoice EntropySearch(const LineHistogram& full_line, const ValueStats& stats,
                              const CalibrationOptions& options) {
  const QuantGrid& grid = options.grid;
  LineHistogram line = full_line;
  double& zero_bin = line.counts[static_cast<size_t>(line.zero_bin)];
  zero_bin = std::max(0.0, zero_bin - static_cast<double>(stats.zeros()));
  HistogramChoice choice;
  if (line.Total() <= 0) return choice;  // all zero: FinishRange gives [0, 0]
  if (grid.symmetric) {
    const int64_t levels = (grid.qmax - grid.qmin) / 2 + 1;
    choice.parameters["levels"] = levels;
    const int64_t end = line.EndOccupied();
    int64_t best = end;
    if (end > levels) {
      // The smallest threshold that clips at most the allowed share.
      const std::vector<double> beyond = SuffixSums(line);
      const double allowed = kMaxEntropyClippedFraction * line.Total();
      int64_t first = levels;
      while (first < end && beyond[static_cast<size_t>(first)] > allowed) ++first;
      choice.parameters["max_clipped_fraction"] = kMaxEntropyClippedFraction;
      const KlDivergence kl(line, levels);
      best = CoarseToFineMinimum(first, end, [&](int64_t b) { return kl(0, b); });
    }
    choice.SetMagnitude(line, best);
    return choice;
  }
  const int64_t levels = grid.qmax - grid.qmin + 1;
  choice.parameters["levels"] = levels;
  const WindowFamily windows(line);
  int64_t best = windows.steps();
  if (windows.width(best) > levels) {
    // Narrower windows clip more; start at the narrowest within the guard.
    const std::vector<double> beyond = SuffixSums(line);
    const double total = line.Total();
    const double allowed = kMaxEntropyClippedFraction * total;
    auto outside = [&](int64_t s) {
      return total - (beyond[static_cast<size_t>(windows.begin(s))] -
                      beyond[static_cast<size_t>(windows.end(s))]);
    };
    int64_t first = windows.FirstWithWidth(levels);
    while (first < windows.steps() && outside(first) > allowed) ++first;
    choice.parameters["max_clipped_fraction"] = kMaxEntropyClippedFraction;
    const KlDivergence kl(line, levels);
    best = CoarseToFineMinimum(first, windows.steps(), [&](int64_t s) {
      return kl(windows.begin(s), windows.end(s));
    });
  }
  choice.SetWindow(line, windows, best);
  return choice;
}

}  // namespace

Result<std::unique_ptr<Calibrator>> NewEntropyCalibrator(const CalibrationOptions& options) {
  return NewHistogramCalibrator(options, "entropy", EntropySearch);
}

}  // namespace pq::calib
