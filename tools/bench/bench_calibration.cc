// pq_bench_calibration: times calibration against plain inference and
// reports peak memory.
//
// Usage: pq_bench_calibration MODEL DATA.npy [--method M] [--samples N]
//            [--mode infer|calib] [--batch B] [--threads T] [--repeat R]
// Both modes run the first N samples (default: all) through the executor in
// batches of B (default 1) with T threads (default 1), R times (default 5);
// `calib` also calibrates, with method M (default minmax), every tensor a
// quantizer would ask for: the non-constant inputs of Conv, MatMul and Gemm
// nodes and the graph outputs. Prints one JSON line: the fastest and median
// repetition in seconds and the process's peak RSS (getrusage ru_maxrss, KiB).
// Peak RSS covers the whole process, so compare it across processes. The
// line also gives the resident anonymous and file-backed memory at exit
// (/proc/self/status RssAnon, RssFile; -1 where unavailable): mapped data
// files count in RSS as their pages are read.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "pq/calibration.h"
#include "pq/dataset.h"
#include "pq/executor.h"
#include "pq/model.h"

namespace {

// A "<key>: <n> kB" field of /proc/self/status, or -1.
long StatusKb(const std::string& key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long value = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::string(line).rfind(key + ":", 0) == 0) {
      value = std::atol(line + key.size() + 1);
      break;
    }
  }
  std::fclose(f);
  return value;
}

int Fail(const pq::Status& status) {
  std::fprintf(stderr, "pq_bench_calibration: %s\n", status.ToString().c_str());
  return 3;
}

// The tensors a quantizer would put QDQ on.
std::set<std::string> QuantizerTensors(const pq::Model& model) {
  std::set<std::string> names;
  for (const onnx::NodeProto& node : model.proto().graph().node()) {
    const std::string& op = node.op_type();
    if (op != "Conv" && op != "MatMul" && op != "Gemm") continue;
    for (const std::string& input : node.input()) {
      if (!input.empty() && model.FindConstant(input) == nullptr) names.insert(input);
    }
  }
  for (const onnx::ValueInfoProto& output : model.proto().graph().output()) {
    names.insert(output.name());
  }
  return names;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: pq_bench_calibration MODEL DATA.npy [--method M] [--samples N] "
                 "[--mode infer|calib] [--batch B] [--threads T] [--repeat R]\n");
    return 2;
  }
  const std::string model_path = argv[1], data_path = argv[2];
  std::string method = "minmax", mode = "calib";
  int64_t samples = 0, batch = 1;
  int threads = 1, repeat = 5;
  for (int i = 3; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--method") method = value;
    else if (flag == "--mode") mode = value;
    else if (flag == "--samples") samples = std::atoll(value.c_str());
    else if (flag == "--batch") batch = std::atoll(value.c_str());
    else if (flag == "--threads") threads = std::atoi(value.c_str());
    else if (flag == "--repeat") repeat = std::max(1, std::atoi(value.c_str()));
    else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (mode != "infer" && mode != "calib") {
    std::fprintf(stderr, "--mode must be infer or calib\n");
    return 2;
  }
  auto model = pq::Model::Load(model_path);
  if (!model.ok()) return Fail(model.status());
  pq::ExecutorOptions exec_options;
  exec_options.threads = threads;
  auto executor = pq::Executor::Create(*model.value(), exec_options);
  if (!executor.ok()) return Fail(executor.status());
  auto data = pq::Dataset::Open({data_path}, executor.value()->inputs());
  if (!data.ok()) return Fail(data.status());
  const int64_t total = samples > 0 ? std::min(samples, data.value()->num_samples())
                                    : data.value()->num_samples();
  const std::set<std::string> tensors = QuantizerTensors(*model.value());
  pq::CalibrationOptions options;
  options.method = method;

  std::vector<double> seconds;
  for (int r = 0; r < repeat; ++r) {
    const auto start = std::chrono::steady_clock::now();
    if (mode == "infer") {
      for (int64_t first = 0; first < total; first += batch) {
        auto feeds = data.value()->Batch(first, std::min(batch, total - first));
        if (!feeds.ok()) return Fail(feeds.status());
        auto outputs = executor.value()->Run(feeds.value());
        if (!outputs.ok()) return Fail(outputs.status());
      }
    } else {
      auto result = pq::Calibrate(*executor.value(), *data.value(), tensors, options, batch,
                                  total, nullptr);
      if (!result.ok()) return Fail(result.status());
    }
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  std::printf(
      "{\"model\": \"%s\", \"mode\": \"%s\", \"method\": \"%s\", \"samples\": %lld, "
      "\"batch\": %lld, \"threads\": %d, \"tensors\": %zu, \"repeat\": %d, "
      "\"seconds_min\": %.6f, \"seconds_median\": %.6f, \"peak_rss_kb\": %ld, "
      "\"rss_anon_kb\": %ld, \"rss_file_kb\": %ld}\n",
      model_path.c_str(), mode.c_str(), mode == "calib" ? method.c_str() : "",
      static_cast<long long>(total), static_cast<long long>(batch), threads,
      mode == "calib" ? tensors.size() : size_t{0}, repeat, seconds.front(),
      seconds[seconds.size() / 2], usage.ru_maxrss, StatusKb("RssAnon"), StatusKb("RssFile"));
  return 0;
}
