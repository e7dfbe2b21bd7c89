#include "quant/write_stage.h"

#include "onnx/onnx_pb.h"
#include "quant/qdq_writer.h"
#include "quant/shared_constants.h"

namespace pq::quant {
namespace {

void NameWritten(const WrittenNames& w, QuantizedTensorRecord* r) {
  r->quantized_name = w.quantized;
  r->scale_name = w.scale;
  r->zero_point_name = w.zero_point;
  r->dequantized_name = w.dequantized;
  r->written_nodes = w.nodes;
  if (r->double_quant) {
    r->double_quant->scales_name = w.scale_scales;
    r->double_quant->offset_name = w.scale_offset;
  }
}

}  // namespace

Result<std::unique_ptr<Model>> WriteDecisions(const Model& prepared, Decisions decisions,
                                              const std::string& origin,
                                              std::vector<QuantizedTensorRecord>* records,
                                              std::map<std::string, std::string>* shared) {
  QdqPlan plan;
  for (ConstantDecision& d : decisions.constants) plan.constants.push_back(std::move(d.rewrite));
  for (ActivationDecision& d : decisions.activations) plan.activations.push_back(std::move(d.rewrite));
  std::vector<WrittenNames> written;
  Result<std::unique_ptr<onnx::ModelProto>> proto = WriteQdq(prepared.proto(), std::move(plan), &written);
  if (!proto.ok()) return proto.status();
  if (shared != nullptr) *shared = ShareBodyConstants(proto.value().get());
  Result<std::unique_ptr<Model>> quantized =
      Model::FromProto(std::move(proto).value(), prepared.base_dir(), origin + " (quantized)");
  if (!quantized.ok()) return quantized.status().WithPrefix("the quantized model is invalid");
  // WriteQdq names the constants, then the activations, in plan order.
  if (written.size() != decisions.constants.size() + decisions.activations.size()) {
    return Status::Internal("the writer named " + std::to_string(written.size()) + " tensors, not " +
                            std::to_string(decisions.constants.size() + decisions.activations.size()));
  }
  size_t k = 0;
  for (ConstantDecision& d : decisions.constants) {
    NameWritten(written[k++], &d.record);
    records->push_back(std::move(d.record));
  }
  for (ActivationDecision& d : decisions.activations) {
    NameWritten(written[k++], &d.record);
    records->push_back(std::move(d.record));
  }
  if (shared != nullptr) RenameWritten(*shared, records);
  return quantized;
}

}  // namespace pq::quant
