// What `pq quantize` prints on stdout: see quantize_summary.h.
#include "quantize_summary.h"

#include <iostream>

#include <nlohmann/json.hpp>

namespace pq::cli {

void PrintQuantizeSummary(const QuantizeJobResult& r, const QuantizeOptions& q, bool json, double seconds) {
  const auto& summary = r.report["summary"];
  if (json) {
    nlohmann::ordered_json doc;
    doc["model"] = r.saved.model_path;
    doc["report"] = r.report_path;
    doc["external_data"] = r.saved.data_path.empty() ? nlohmann::ordered_json(nullptr)
                                                     : nlohmann::ordered_json(r.saved.data_path);
    doc["scheme"] = q.scheme;
    doc["nodes_quantized"] = r.nodes_quantized;
    doc["tensors_quantized"] = r.tensors_quantized;
    doc["skipped"] = r.skipped;
    doc["bytes_before"] = summary["bytes_before"];
    doc["bytes_after"] = summary["bytes_after"];
    doc["seconds"] = seconds;
    std::cout << doc.dump(2) << "\n";
    return;
  }
  std::cout << "model:  " << r.saved.model_path << "\n";
  std::cout << "report: " << r.report_path << "\n";
  std::cout << "scheme " << q.scheme << (q.weights_only ? " (weights only)" : "") << ": "
            << r.nodes_quantized << " nodes, " << r.tensors_quantized << " tensors quantized, "
            << r.skipped << " skipped; " << summary["bytes_before"].get<int64_t>() << " -> "
            << summary["bytes_after"].get<int64_t>() << " bytes\n";
}

}  // namespace pq::cli
