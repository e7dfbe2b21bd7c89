// pq run MODEL --data PATH… [-o OUT.npz] [--batch N] [--threads N] [--json]
// Runs a model with pq's executor over data and writes every output.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "pq/dataset.h"
#include "pq/executor.h"
#include "pq/model.h"
#include "pq/npz.h"

namespace pq::cli {
namespace {

// Joins the outputs of successive runs: along axis 0 when every part has one
// (the batch axis), else stacked along a new first axis.
Result<Tensor> JoinRuns(const std::vector<Tensor>& parts, const std::string& name) {
  bool concat = true;
  for (const Tensor& p : parts) concat &= p.rank() > 0;
  if (concat) return ConcatenateRows(parts, "output '" + name + "'");
  std::vector<Tensor> lifted;
  for (const Tensor& p : parts) {
    std::vector<int64_t> shape = p.shape();
    shape.insert(shape.begin(), 1);
    lifted.push_back(p.Reshaped(shape));
  }
  return ConcatenateRows(lifted, "output '" + name + "'");
}

}  // namespace

std::function<int()> SetupRun(CLI::App* sub) {
  struct Options {
    std::string model;
    std::vector<std::string> data;
    std::vector<std::string> text;
    TokenDataOptions tokens;
    std::string output;
    int64_t batch = 1;
    int threads = 0;
    bool json = false;
    bool force = false;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("MODEL", options->model, "ONNX model file")->required();
  sub->add_option("--data", options->data,
                  ".npy, .npz, a folder of them, or test_data_set_* folders; for a decoder LLM "
                  "token ids [N, T] or .txt with --tokenizer");
  AddTextDataOptions(sub, &options->text, &options->tokens);
  sub->add_option("-o,--output", options->output, "Write every output to this .npz");
  sub->add_option("--batch", options->batch, "Samples per run")->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--threads", options->threads, "Intra-op threads (0 = all cores)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  sub->add_flag("--json", options->json, "Print a JSON summary on stdout");
  sub->add_flag("--force", options->force, "Overwrite an existing output");
  return [options]() -> int {
    options->data.insert(options->data.end(), options->text.begin(), options->text.end());
    if (options->data.empty()) return Fail(Status::InvalidArgument("give --data PATH or --text FILE"));
    Result<std::unique_ptr<Model>> model = Model::Load(options->model);
    if (!model.ok()) return Fail(model.status());
    ExecutorOptions exec_options;
    exec_options.threads = options->threads;
    Result<std::unique_ptr<Executor>> executor = Executor::Create(*model.value(), exec_options);
    if (!executor.ok()) return Fail(executor.status());
    DatasetOptions data_options;
    data_options.outputs = executor.value()->outputs();
    data_options.tokens = options->tokens;
    Result<std::unique_ptr<Dataset>> data =
        Dataset::Open(options->data, executor.value()->inputs(), data_options);
    if (!data.ok()) return Fail(data.status());
    if (!options->output.empty()) {
      // Refuse before the work, not after it.
      std::vector<std::string> inputs = options->data;
      inputs.push_back(options->model);
      Status writable = CheckOutputPaths({options->output}, inputs, options->force);
      if (!writable.ok()) return Fail(writable);
    }
    const auto& outputs_info = executor.value()->outputs();
    std::vector<std::vector<Tensor>> collected(outputs_info.size());
    const int64_t total = data.value()->num_samples();
    double run_ms = 0;
    for (int64_t first = 0; first < total; first += options->batch) {
      const int64_t count = std::min(options->batch, total - first);
      Result<std::map<std::string, Tensor>> feeds = data.value()->Batch(first, count);
      if (!feeds.ok()) return Fail(feeds.status());
      const auto start = std::chrono::steady_clock::now();
      Result<std::vector<Tensor>> outputs = executor.value()->Run(feeds.value());
      run_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
      if (!outputs.ok()) return Fail(outputs.status());
      for (size_t o = 0; o < outputs_info.size(); ++o) collected[o].push_back(outputs.value()[o]);
      if (first / options->batch % 100 == 99) {
        spdlog::info("{} of {} samples", first + count, total);
      }
    }
    std::vector<std::pair<std::string, Tensor>> arrays;
    for (size_t o = 0; o < outputs_info.size(); ++o) {
      Result<Tensor> joined = JoinRuns(collected[o], outputs_info[o].name);
      if (!joined.ok()) return Fail(joined.status());
      arrays.emplace_back(outputs_info[o].name, std::move(joined).value());
    }
    if (!options->output.empty()) {
      Status written = WriteNpz(options->output, arrays, options->force);
      if (!written.ok()) return Fail(written);
    }
    const double ms_per_sample = run_ms / static_cast<double>(total);
    if (options->json) {
      nlohmann::ordered_json doc;
      doc["model"] = options->model;
      doc["samples"] = total;
      doc["batch"] = options->batch;
      nlohmann::ordered_json outs = nlohmann::ordered_json::array();
      for (const auto& [name, t] : arrays) outs.push_back({{"name", name}, {"shape", t.shape()}});
      doc["outputs"] = outs;
      doc["output_file"] = options->output.empty() ? nlohmann::ordered_json(nullptr)
                                                   : nlohmann::ordered_json(options->output);
      doc["ms_per_sample"] = ms_per_sample;
      std::cout << doc.dump(2) << "\n";
    } else {
      std::cout << "samples: " << total << " (batch " << options->batch << ")\n";
      for (const auto& [name, t] : arrays) std::cout << "output " << name << " " << ShapeToString(t.shape()) << "\n";
      if (!options->output.empty()) std::cout << "written: " << options->output << "\n";
      std::cout << "ms per sample: " << ms_per_sample << "\n";
    }
    return kExitOk;
  };
}

}  // namespace pq::cli
