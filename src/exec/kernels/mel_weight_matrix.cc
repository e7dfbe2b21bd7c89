// MelWeightMatrix (opset 17) of pq's executor: the triangular mel filter
// bank that maps a onesided spectrum's bins to mel bins.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"
#include "exec/kernels/signal_inputs.h"
#include "pq/data_type.h"

namespace pq::exec {
namespace {

// Reads scalar input `i` of a float type into `*value`.
Status ScalarFloat(const KernelContext& ctx, int i, const char* what, double* value) {
  const Tensor& t = ctx.input(i);
  if (t.dtype() != kFloat || t.size() != 1 || t.rank() > 1) {
    return ctx.Error(std::string(what) + " must be one float value, got " +
                     DataTypeName(t.dtype()) + " " + ShapeToString(t.shape()));
  }
  *value = t.data<float>()[0];
  return Status::OK();
}

// Largest dft_length and num_mel_bins accepted (the matrix is dense).
constexpr int64_t kMaxBins = int64_t{1} << 24;

// The spectrum bin of each of the num_mel_bins + 2 filter edges: edge i at
// mel(lower) + i * (mel(upper) - mel(lower)) / (num_mel_bins + 2), with
// mel(f) = 2595 log10(1 + f / 700), mapped back to hertz f and to the
// integer bin floor((dft_length + 1) * f / sample_rate). This is ONNX's
// reference (the step divides by the number of edges, so the last edge
// stops one step short of upper_edge_hertz) and ONNX Runtime's kernel;
// computed in double.
std::vector<int64_t> EdgeBins(int64_t mel_bins, int64_t dft_length, int64_t sample_rate,
                              double lower_hz, double upper_hz) {
  const double low_mel = 2595 * std::log10(1 + lower_hz / 700);
  const double high_mel = 2595 * std::log10(1 + upper_hz / 700);
  const double step = (high_mel - low_mel) / static_cast<double>(mel_bins + 2);
  std::vector<int64_t> bins(static_cast<size_t>(mel_bins + 2));
  for (int64_t i = 0; i < mel_bins + 2; ++i) {
    const double mel = static_cast<double>(i) * step + low_mel;
    const double hz = 700 * (std::pow(10.0, mel / 2595) - 1);
    bins[static_cast<size_t>(i)] = static_cast<int64_t>(
        std::floor(static_cast<double>(dft_length + 1) * hz / static_cast<double>(sample_rate)));
  }
  return bins;
}

// Inputs num_mel_bins, dft_length, sample_rate (integer scalars),
// lower_edge_hertz, upper_edge_hertz (float scalars); attribute
// output_datatype (default float). Output [dft_length / 2 + 1, num_mel_bins]:
// column i rises linearly from 0 at edge bin i to 1 at edge bin i + 1 and
// falls to 0 at edge bin i + 2 (1 at the centre when the rise is empty).
Status MelWeightMatrix(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 5));
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(1));
  int64_t mel_bins = 0, dft_length = 0, sample_rate = 0;
  double lower_hz = 0, upper_hz = 0;
  PQ_RETURN_IF_ERROR(signal::ScalarInt(ctx, 0, "num_mel_bins", &mel_bins));
  PQ_RETURN_IF_ERROR(signal::ScalarInt(ctx, 1, "dft_length", &dft_length));
  PQ_RETURN_IF_ERROR(signal::ScalarInt(ctx, 2, "sample_rate", &sample_rate));
  PQ_RETURN_IF_ERROR(ScalarFloat(ctx, 3, "lower_edge_hertz", &lower_hz));
  PQ_RETURN_IF_ERROR(ScalarFloat(ctx, 4, "upper_edge_hertz", &upper_hz));
  if (mel_bins < 1 || mel_bins > kMaxBins || dft_length < 1 || dft_length > kMaxBins ||
      sample_rate < 1) {
    return ctx.Error("num_mel_bins and dft_length must be in [1, 2^24] and sample_rate >= 1, "
                     "got " + std::to_string(mel_bins) + ", " + std::to_string(dft_length) +
                     ", " + std::to_string(sample_rate));
  }
  if (!(lower_hz >= 0 && lower_hz <= upper_hz && upper_hz <= 0.5 * static_cast<double>(sample_rate))) {
    return ctx.Error("edges must satisfy 0 <= lower_edge_hertz <= upper_edge_hertz <= "
                     "sample_rate / 2, got " + std::to_string(lower_hz) + " and " +
                     std::to_string(upper_hz));
  }
  int32_t dtype = kFloat;
  PQ_RETURN_IF_ERROR(signal::OutputDatatype(ctx, &dtype));
  const int64_t spectrum_bins = dft_length / 2 + 1;
  const std::vector<int64_t> edges = EdgeBins(mel_bins, dft_length, sample_rate, lower_hz, upper_hz);
  // Edges rise with the mel scale and stay below upper_edge_hertz <=
  // sample_rate / 2; this guards the indexing below all the same.
  if (edges.back() > spectrum_bins) {
    return ctx.Error("upper_edge_hertz " + std::to_string(upper_hz) + " maps to bin " +
                     std::to_string(edges.back()) + ", past the spectrum's " +
                     std::to_string(spectrum_bins) + " bins");
  }
  Result<Tensor> out = ctx.Allocate(dtype, {spectrum_bins, mel_bins});  // zero off the triangles
  if (!out.ok()) return out.status();
  const int64_t element = ExecutorElementSize(dtype);
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  auto set = [&](int64_t bin, int64_t i, double v) {
    movement::StoreAs(dtype, v, dst + (bin * mel_bins + i) * element);
  };
  for (int64_t i = 0; i < mel_bins; ++i) {
    const int64_t left = edges[static_cast<size_t>(i)];
    const int64_t centre = edges[static_cast<size_t>(i + 1)];
    const int64_t right = edges[static_cast<size_t>(i + 2)];
    if (centre == left) {
      if (centre < spectrum_bins) set(centre, i, 1);
    } else {
      for (int64_t j = left; j <= centre && j < spectrum_bins; ++j) {
        set(j, i, static_cast<double>(j - left) / static_cast<double>(centre - left));
      }
    }
    for (int64_t j = centre; j < right; ++j) {
      set(j, i, static_cast<double>(right - j) / static_cast<double>(right - centre));
    }
  }
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& MelWeightMatrixKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"MelWeightMatrix", "", 17, 0, MelWeightMatrix},
  };
  return kKernels;
}

}  // namespace pq::exec
