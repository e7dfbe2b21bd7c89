// Fourier kernels of pq's executor: DFT (opset 17 with `axis` as an
// attribute, opset 20 with `axis` as an input) and STFT (opset 17).
//
// Every transform is computed in double and rounded to float once at the
// end: radix-2 Cooley-Tukey for power-of-two lengths, Bluestein's chirp
// z-transform (a power-of-two convolution) for any other length, so both are
// O(n log n). Twiddles come from std::cos/std::sin of an exactly reduced
// index, so the double result is within ~1e-12 of the exact sum relative to
// the signal's magnitude — far below float's rounding.
#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/movement_common.h"
#include "exec/kernels/signal_inputs.h"

namespace pq::exec {
namespace {

using Complex = std::complex<double>;
constexpr double kPi = 3.14159265358979323846;

// exp(-2 pi i k / n) for k in [0, n), from the exact reduced angle.
Complex Twiddle(int64_t k, int64_t n) {
  const double angle = -2 * kPi * static_cast<double>(k % n) / static_cast<double>(n);
  return {std::cos(angle), std::sin(angle)};
}

bool IsPowerOfTwo(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

// In-place forward DFT of `a` (size a power of two): iterative radix-2.
void Radix2(std::vector<Complex>* a) {
  const int64_t n = static_cast<int64_t>(a->size());
  for (int64_t i = 1, j = 0; i < n; ++i) {  // bit-reversal permutation
    int64_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap((*a)[static_cast<size_t>(i)], (*a)[static_cast<size_t>(j)]);
  }
  std::vector<Complex> w(static_cast<size_t>(n / 2));
  for (int64_t k = 0; k < n / 2; ++k) w[static_cast<size_t>(k)] = Twiddle(k, n);
  for (int64_t len = 2; len <= n; len <<= 1) {
    const int64_t step = n / len;
    for (int64_t i = 0; i < n; i += len) {
      for (int64_t k = 0; k < len / 2; ++k) {
        Complex& lo = (*a)[static_cast<size_t>(i + k)];
        Complex& hi = (*a)[static_cast<size_t>(i + k + len / 2)];
        const Complex t = hi * w[static_cast<size_t>(k * step)];
        hi = lo - t;
        lo += t;
      }
    }
  }
}

// In-place forward DFT of `a` of any length n >= 1 by Bluestein's identity
// kn = (k^2 + n^2 - (k - n)^2) / 2: a chirp-weighted circular convolution of
// power-of-two size m >= 2n - 1.
void Bluestein(std::vector<Complex>* a) {
  const int64_t n = static_cast<int64_t>(a->size());
  int64_t m = 1;
  while (m < 2 * n - 1) m <<= 1;
  // chirp[k] = exp(-pi i k^2 / n) = Twiddle(k^2 mod 2n, 2n); k^2 mod 2n is
  // kept exactly by (k + 1)^2 = k^2 + 2k + 1.
  std::vector<Complex> chirp(static_cast<size_t>(n));
  for (int64_t k = 0, square = 0; k < n; ++k) {
    chirp[static_cast<size_t>(k)] = Twiddle(square, 2 * n);
    square = (square + 2 * k + 1) % (2 * n);
  }
  std::vector<Complex> u(static_cast<size_t>(m)), v(static_cast<size_t>(m));
  for (int64_t k = 0; k < n; ++k) u[static_cast<size_t>(k)] = (*a)[static_cast<size_t>(k)] * chirp[static_cast<size_t>(k)];
  v[0] = std::conj(chirp[0]);
  for (int64_t k = 1; k < n; ++k) {
    v[static_cast<size_t>(k)] = v[static_cast<size_t>(m - k)] = std::conj(chirp[static_cast<size_t>(k)]);
  }
  Radix2(&u);
  Radix2(&v);
  for (int64_t i = 0; i < m; ++i) u[static_cast<size_t>(i)] = std::conj(u[static_cast<size_t>(i)] * v[static_cast<size_t>(i)]);
  Radix2(&u);  // conj(FFT(conj(.))) / m is the inverse FFT
  const double scale = 1.0 / static_cast<double>(m);
  for (int64_t k = 0; k < n; ++k) {
    (*a)[static_cast<size_t>(k)] = std::conj(u[static_cast<size_t>(k)]) * scale * chirp[static_cast<size_t>(k)];
  }
}

// In-place DFT of `a`: forward, or inverse (conjugate exponent, divided by
// the length).
void Transform(std::vector<Complex>* a, bool inverse) {
  if (a->empty()) return;
  if (inverse) {
    for (Complex& c : *a) c = std::conj(c);
  }
  if (IsPowerOfTwo(static_cast<int64_t>(a->size()))) {
    Radix2(a);
  } else {
    Bluestein(a);
  }
  if (inverse) {
    const double scale = 1.0 / static_cast<double>(a->size());
    for (Complex& c : *a) c = std::conj(c) * scale;
  }
}

// Longest signal or transform the kernels accept (keeps sizes in range).
constexpr int64_t kMaxLength = int64_t{1} << 40;

// DFT. Input [..., n, ..., 1 or 2] (real or complex); dft_length (input 1)
// pads with zeros or truncates the signal along `axis` (an attribute, default
// 1, before opset 20; input 2, default -2, from 20), which may be any axis but
// the last. onesided keeps bins [0, length/2] (real input only); inverse
// divides by the length. Output [..., length or length/2+1, ..., 2] float.
Status Dft(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 1));
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(1));
  const Tensor& x = ctx.input(0);
  if (x.dtype() != kFloat) return ctx.Unsupported("DFT of " + DataTypeName(x.dtype()));
  const int64_t rank = x.rank();
  if (rank < 2 || (x.dim(rank - 1) != 1 && x.dim(rank - 1) != 2)) {
    return ctx.Error("input must be [..., signal, 1 or 2] (real or complex), got " +
                     ShapeToString(x.shape()));
  }
  const bool complex_in = x.dim(rank - 1) == 2;
  int64_t axis = ctx.opset() >= 20 ? -2 : ctx.Int("axis", 1);
  if (ctx.opset() >= 20 && ctx.has_input(2)) PQ_RETURN_IF_ERROR(signal::ScalarInt(ctx, 2, "axis", &axis));
  // The last dim holds (real, imaginary): it is not a signal axis.
  const int64_t given_axis = axis;
  if (!movement::NormalizeAxis(given_axis, rank, &axis) || axis == rank - 1) {
    return ctx.Error("axis " + std::to_string(given_axis) + " must be in [" +
                     std::to_string(-rank) + ", " + std::to_string(rank - 2) +
                     "] and not the last (real, imaginary) dim of input " +
                     ShapeToString(x.shape()));
  }
  const int64_t n_in = x.dim(axis);
  int64_t length = n_in;
  if (ctx.has_input(1)) {
    PQ_RETURN_IF_ERROR(signal::ScalarInt(ctx, 1, "dft_length", &length));
    if (length < 1 || length > kMaxLength) {
      return ctx.Error("dft_length must be in [1, 2^40], got " + std::to_string(length));
    }
  }
  const bool inverse = ctx.Int("inverse", 0) != 0;
  const bool onesided = ctx.Int("onesided", 0) != 0;
  if (onesided && complex_in) {
    return ctx.Error("onesided output needs a real input ([..., 1]), got " +
                     ShapeToString(x.shape()));
  }
  const int64_t bins = onesided ? length / 2 + 1 : length;
  std::vector<int64_t> out_shape = x.shape();
  out_shape[static_cast<size_t>(axis)] = bins;
  out_shape.back() = 2;
  Result<Tensor> y = ctx.AllocateUninitialized(kFloat, out_shape);
  if (!y.ok()) return y.status();
  if (y->size() == 0) {
    ctx.set_output(0, std::move(y).value());
    return Status::OK();
  }
  const int64_t outer = movement::Product(x.shape(), 0, static_cast<size_t>(axis));
  const int64_t inner = movement::Product(x.shape(), static_cast<size_t>(axis) + 1,
                                          static_cast<size_t>(rank) - 1);
  const int64_t channels = x.dim(rank - 1);
  const int64_t copy = std::min(n_in, length);
  const float* src = x.data<float>();
  float* dst = y->data<float>();
  std::vector<Complex> line(static_cast<size_t>(length));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      std::fill(line.begin(), line.end(), Complex{});
      for (int64_t k = 0; k < copy; ++k) {
        const float* e = src + ((o * n_in + k) * inner + i) * channels;
        line[static_cast<size_t>(k)] = {e[0], complex_in ? e[1] : 0.0};
      }
      Transform(&line, inverse);
      for (int64_t k = 0; k < bins; ++k) {
        float* e = dst + ((o * bins + k) * inner + i) * 2;
        e[0] = static_cast<float>(line[static_cast<size_t>(k)].real());
        e[1] = static_cast<float>(line[static_cast<size_t>(k)].imag());
      }
    }
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

// STFT (opset 17). signal [batch, length, 1 or 2], frame_step (input 1),
// window [frame_length] (input 2, optional), frame_length (input 3,
// optional; at least one of the two, equal when both are given); onesided
// (default 1, real signals only). Output [batch, frames, bins, 2] with
// frames = (length - frame_length) / frame_step + 1: frame f is the DFT of
// signal[f * frame_step + n] * window[n] for n in [0, frame_length).
Status Stft(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(movement::RequireInputs(ctx, 2));
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(1));
  const Tensor& signal = ctx.input(0);
  if (signal.dtype() != kFloat) return ctx.Unsupported("STFT of " + DataTypeName(signal.dtype()));
  if (signal.rank() != 3 || (signal.dim(2) != 1 && signal.dim(2) != 2)) {
    return ctx.Error("signal must be [batch, length, 1 or 2], got " +
                     ShapeToString(signal.shape()));
  }
  int64_t step = 0;
  PQ_RETURN_IF_ERROR(signal::ScalarInt(ctx, 1, "frame_step", &step));
  if (step < 1) return ctx.Error("frame_step must be >= 1, got " + std::to_string(step));
  const bool has_window = ctx.has_input(2);
  if (has_window && (ctx.input(2).dtype() != kFloat || ctx.input(2).rank() != 1)) {
    return ctx.Error("window must be a 1-D float tensor, got " +
                     DataTypeName(ctx.input(2).dtype()) + " " + ShapeToString(ctx.input(2).shape()));
  }
  int64_t frame_length = has_window ? ctx.input(2).dim(0) : 0;
  if (ctx.has_input(3)) {
    PQ_RETURN_IF_ERROR(signal::ScalarInt(ctx, 3, "frame_length", &frame_length));
    if (has_window && frame_length != ctx.input(2).dim(0)) {
      return ctx.Error("frame_length " + std::to_string(frame_length) +
                       " differs from the window's length " + std::to_string(ctx.input(2).dim(0)));
    }
  } else if (!has_window) {
    return ctx.Error("needs a window (input 2) or a frame_length (input 3)");
  }
  const int64_t length = signal.dim(1);
  if (frame_length < 1 || frame_length > length) {
    return ctx.Error("frame_length must be in [1, " + std::to_string(length) +
                     "] (the signal's length), got " + std::to_string(frame_length));
  }
  const bool complex_in = signal.dim(2) == 2;
  const bool onesided = ctx.Int("onesided", 1) != 0;
  if (onesided && complex_in) {
    return ctx.Error("onesided output needs a real signal ([batch, length, 1]), got " +
                     ShapeToString(signal.shape()));
  }
  const int64_t frames = (length - frame_length) / step + 1;
  const int64_t bins = onesided ? frame_length / 2 + 1 : frame_length;
  const int64_t batch = signal.dim(0);
  Result<Tensor> y = ctx.AllocateUninitialized(kFloat, {batch, frames, bins, 2});
  if (!y.ok()) return y.status();
  const int64_t channels = signal.dim(2);
  if (y->size() == 0) {
    ctx.set_output(0, std::move(y).value());
    return Status::OK();
  }
  const float* window = has_window ? ctx.input(2).data<float>() : nullptr;
  std::vector<Complex> line(static_cast<size_t>(frame_length));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t f = 0; f < frames; ++f) {
      const float* src = signal.data<float>() + (b * length + f * step) * channels;
      for (int64_t n = 0; n < frame_length; ++n) {
        const double w = window != nullptr ? window[n] : 1.0;
        line[static_cast<size_t>(n)] = {src[n * channels] * w,
                                        complex_in ? src[n * channels + 1] * w : 0.0};
      }
      Transform(&line, false);
      float* dst = y->data<float>() + (b * frames + f) * bins * 2;
      for (int64_t k = 0; k < bins; ++k) {
        dst[2 * k] = static_cast<float>(line[static_cast<size_t>(k)].real());
        dst[2 * k + 1] = static_cast<float>(line[static_cast<size_t>(k)].imag());
      }
    }
  }
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& DftKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"DFT", "", 17, 0, Dft},
      {"STFT", "", 17, 0, Stft},
  };
  return kKernels;
}

}  // namespace pq::exec
