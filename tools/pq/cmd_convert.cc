// pq convert MODEL -o OUT [--external-data] [--force] [--json]
// Re-saves a model through pq's loader and writer: validates it, and moves its
// weights into or out of an external data file.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "cli_common.h"
#include "pq/model.h"

namespace pq::cli {

std::function<int()> SetupConvert(CLI::App* sub) {
  struct Options {
    std::string model;
    std::string output;
    SaveOptions save;
    bool json = false;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("MODEL", options->model, "ONNX model file")->required();
  sub->add_option("-o,--output", options->output, "Where to write the model")->required();
  sub->add_flag("--external-data", options->save.external_data,
                "Store weights in OUTPUT.data beside the model");
  sub->add_option("--external-threshold", options->save.external_threshold,
                  "Smallest tensor (bytes) moved to the external data file")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_flag("--force", options->save.force, "Overwrite an existing output");
  sub->add_flag("--json", options->json, "Print a JSON summary on stdout");
  return [options]() -> int {
    Result<std::unique_ptr<Model>> model = Model::Load(options->model);
    if (!model.ok()) return Fail(model.status());
    for (const std::string& warning : model.value()->warnings()) {
      spdlog::warn("{}: {}", options->model, warning);
    }
    Result<SaveResult> saved = SaveModel(*model.value(), options->output, options->save);
    if (!saved.ok()) return Fail(saved.status());
    if (saved->external_forced) {
      spdlog::warn("{}: over 2 GiB inline; weights written to {}", options->output,
                   saved->data_path);
    }
    if (options->json) {
      nlohmann::ordered_json doc;
      doc["model"] = saved->model_path;
      doc["model_bytes"] = saved->model_bytes;
      doc["external_data"] = saved->data_path.empty() ? nlohmann::ordered_json(nullptr)
                                                      : nlohmann::ordered_json(saved->data_path);
      doc["external_data_bytes"] = saved->data_bytes;
      std::cout << doc.dump(2) << "\n";
    } else {
      std::cout << "model: " << saved->model_path << " (" << saved->model_bytes << " bytes)\n";
      if (!saved->data_path.empty()) {
        std::cout << "external data: " << saved->data_path << " (" << saved->data_bytes
                  << " bytes)\n";
      }
    }
    return kExitOk;
  };
}

}  // namespace pq::cli
