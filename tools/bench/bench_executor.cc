// pq_bench_executor: times pq's executor on one model.
//
// Usage: pq_bench_executor MODEL [--threads N] [--iters K] [--warmup W] [--data FILE]
// Feeds every input a fixed-seed uniform [-1, 1) tensor (symbolic dims = 1),
// or with --data the first sample of FILE as pq's commands read it (token ids
// for a decoder: its mask, positions and empty past built by pq), and prints
// one JSON line: {"model", "threads", "iters", "ms_median", "ms_min"}.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "pq/dataset.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "openmp_wait.h"

int main(int argc, char** argv) {
  // As pq itself runs (see tools/pq/openmp_wait.h).
  pq::LimitOpenMpSpinning(argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: pq_bench_executor MODEL [--threads N] [--iters K] [--warmup W]\n");
    return 2;
  }
  const std::string path = argv[1];
  int threads = 1, iters = 20, warmup = 3;
  std::string data;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--data") data = argv[i + 1];
    else if (flag == "--threads") threads = value;
    else if (flag == "--iters") iters = value;
    else if (flag == "--warmup") warmup = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  auto model = pq::Model::Load(path);
  if (!model.ok()) {
    std::fprintf(stderr, "%s\n", model.status().ToString().c_str());
    return 3;
  }
  pq::ExecutorOptions options;
  options.threads = threads;
  auto executor = pq::Executor::Create(*model.value(), options);
  if (!executor.ok()) {
    std::fprintf(stderr, "%s\n", executor.status().ToString().c_str());
    return 3;
  }
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::map<std::string, pq::Tensor> feeds;
  if (!data.empty()) {
    pq::DatasetOptions data_options;
    data_options.outputs = executor.value()->outputs();
    auto dataset = pq::Dataset::Open({data}, executor.value()->inputs(), data_options);
    auto batch = dataset.ok() ? dataset.value()->Batch(0, 1)
                              : pq::Result<std::map<std::string, pq::Tensor>>(dataset.status());
    if (!batch.ok()) {
      std::fprintf(stderr, "%s\n", batch.status().ToString().c_str());
      return 3;
    }
    feeds = std::move(batch).value();
  }
  for (const pq::TensorInfo& info : executor.value()->inputs()) {
    if (!data.empty()) break;
    std::vector<int64_t> dims = info.dims;
    for (int64_t& d : dims) d = d < 0 ? 1 : d;
    pq::Tensor t = pq::Tensor::Allocate(pq::kFloat, dims).value();
    for (int64_t i = 0; i < t.size(); ++i) t.data<float>()[i] = dist(rng);
    feeds[info.name] = t;
  }
  std::vector<double> times;
  for (int i = 0; i < warmup + iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    auto out = executor.value()->Run(feeds);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (!out.ok()) {
      std::fprintf(stderr, "%s\n", out.status().ToString().c_str());
      return 3;
    }
    if (i >= warmup) times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  std::printf("{\"model\": \"%s\", \"threads\": %d, \"iters\": %d, \"ms_median\": %.4f, \"ms_min\": %.4f}\n",
              path.c_str(), threads, iters, times[times.size() / 2], times.front());
  return 0;
}
