// Single-precision GEMM of the Debian-packaged libraries against Eigen, on the
// product shapes pq's executor runs (convolution tiles, transformer and LLM
// projections, small attention products), 1 thread. Prints GFLOP/s, best of 7
// rounds of at least 50 ms each. The figures chose oneDNN for the executor's
// float GEMM (src/exec/kernels/sgemm.h; README "The executor").
//
// Not part of the build (it needs libopenblas-dev, which pq does not):
//   g++ -O3 -march=native -fopenmp -I/usr/include/eigen3 tools/bench/gemm_libraries.cc \
//       -o /tmp/gemm_libraries -lopenblas -ldnnl
//   OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /tmp/gemm_libraries
#include <cblas.h>
#include <dnnl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <vector>

#include <Eigen/Core>

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// GFLOP/s of `run`, which performs `flops` floating-point operations.
double BestRate(const std::function<void()>& run, double flops) {
  double best = 1e30;
  run();
  for (int round = 0; round < 7; ++round) {
    const auto start = std::chrono::steady_clock::now();
    int calls = 0;
    double elapsed = 0;
    do {
      run();
      ++calls;
      elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    } while (elapsed < 0.05);
    best = std::min(best, elapsed / calls);
  }
  return flops / best * 1e-9;
}

struct Shape {
  int m, k, n;
  const char* what;
};

}  // namespace

int main() {
  Eigen::setNbThreads(1);
  const Shape shapes[] = {
      {64, 576, 3136, "3x3 conv, 64 ch, 56x56"}, {64, 576, 455, "its 455-pixel tile"},
      {64, 576, 113, "its 113-pixel tile"},      {32, 27, 12544, "stem 3x3x3, 112x112"},
      {128, 128, 784, "pointwise 128, 28x28"},   {64, 256, 1024, "prefill 64 x 256 -> 1024"},
      {64, 1024, 256, "prefill 64 x 1024 -> 256"}, {512, 512, 512, "512 cube"},
      {1, 2048, 2048, "decode, one row"},        {64, 64, 64, "64 cube"},
      {8, 64, 64, "8 x 64 x 64"},                {16, 32, 16, "16 x 32 x 16"}};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> uniform(-1, 1);
  std::printf("%-28s %7s %9s %7s  (GFLOP/s, 1 thread)\n", "m x k x n", "Eigen", "OpenBLAS", "oneDNN");
  for (const Shape& s : shapes) {
    std::vector<float> a(static_cast<size_t>(s.m) * s.k), b(static_cast<size_t>(s.k) * s.n),
        c(static_cast<size_t>(s.m) * s.n);
    for (float& v : a) v = uniform(rng);
    for (float& v : b) v = uniform(rng);
    const double flops = 2.0 * s.m * s.k * s.n;
    const double eigen = BestRate(
        [&] {
          Eigen::Map<RowMatrix>(c.data(), s.m, s.n).noalias() =
              Eigen::Map<const RowMatrix>(a.data(), s.m, s.k) * Eigen::Map<const RowMatrix>(b.data(), s.k, s.n);
        },
        flops);
    const double openblas = BestRate(
        [&] {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n,
                      0.0f, c.data(), s.n);
        },
        flops);
    const double onednn = BestRate(
        [&] { dnnl_sgemm('N', 'N', s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f, c.data(), s.n); },
        flops);
    char label[64];
    std::snprintf(label, sizeof(label), "%dx%dx%d %s", s.m, s.k, s.n, s.what);
    std::printf("%-40s %7.1f %9.1f %7.1f\n", label, eigen, openblas, onednn);
  }
  return 0;
}
