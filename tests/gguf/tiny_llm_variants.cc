#include "gguf/tiny_llm_variants.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <vector>

namespace pq::testing {
namespace {

// models/tiny_llm/config.json.
constexpr int kHeadDim = 32;
constexpr double kRopeBase = 10000.0;

}  // namespace

std::string TinyLlmDir() { return std::string(PQ_SOURCE_DIR) + "/models/tiny_llm"; }

onnx::ModelProto EditedTinyLlm(const std::function<void(onnx::GraphProto*)>& edit) {
  onnx::ModelProto proto;
  std::ifstream in(TinyLlmDir() + "/tiny_llm_optimum.onnx", std::ios::binary);
  EXPECT_TRUE(proto.ParseFromIstream(&in));
  edit(proto.mutable_graph());
  return proto;
}

void RemoveInitializer(onnx::GraphProto* graph, const std::string& name) {
  auto* inits = graph->mutable_initializer();
  for (int i = 0; i < inits->size(); ++i) {
    if (inits->Get(i).name() == name) {
      inits->DeleteSubrange(i, 1);
      return;
    }
  }
  ADD_FAILURE() << "no initializer " << name;
}

onnx::NodeProto* NodeNamed(onnx::GraphProto* graph, const std::string& name) {
  for (auto& node : *graph->mutable_node()) {
    if (node.name() == name) return &node;
  }
  ADD_FAILURE() << "no node " << name;
  return nullptr;
}

onnx::ModelProto TiedTinyLlm() {
  return EditedTinyLlm([](onnx::GraphProto* graph) {
    // logits = MatMul(norm, Transpose(embed_tokens)).
    NodeNamed(graph, "/lm_head/MatMul")->set_input(1, "embed_transposed");
    onnx::NodeProto transpose;
    transpose.set_op_type("Transpose");
    transpose.set_name("/lm_head/Transpose");
    transpose.add_input("model.embed_tokens.weight");
    transpose.add_output("embed_transposed");
    auto* perm = transpose.add_attribute();
    perm->set_name("perm");
    perm->set_type(onnx::AttributeProto::INTS);
    perm->add_ints(1);
    perm->add_ints(0);
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (const auto& node : graph->node()) {
      if (node.name() == "/lm_head/MatMul") *nodes.Add() = transpose;
      *nodes.Add() = node;
    }
    graph->mutable_node()->Swap(&nodes);
    RemoveInitializer(graph, "lm_head.weight");
  });
}

onnx::ModelProto RunTimeRopeTinyLlm() {
  return EditedTinyLlm([](onnx::GraphProto* graph) {
    onnx::TensorProto* inv_freq = graph->add_initializer();
    inv_freq->set_name("inv_freq");
    inv_freq->set_data_type(onnx::TensorProto::FLOAT);
    inv_freq->add_dims(kHeadDim / 2);
    for (int i = 0; i < kHeadDim / 2; ++i) {
      inv_freq->add_float_data(static_cast<float>(1.0 / std::pow(kRopeBase, 2.0 * i / kHeadDim)));
    }
    onnx::TensorProto* axes = graph->add_initializer();
    axes->set_name("last_axis");
    axes->set_data_type(onnx::TensorProto::INT64);
    axes->add_dims(1);
    axes->add_int64_data(-1);
    auto make = [](const std::string& op, std::vector<std::string> in, const std::string& out) {
      onnx::NodeProto node;
      node.set_op_type(op);
      node.set_name("/rotary/" + op);
      for (auto& name : in) node.add_input(name);
      node.add_output(out);
      return node;
    };
    std::vector<onnx::NodeProto> angles = {
        make("Cast", {"position_ids"}, "pos_f"), make("Unsqueeze", {"pos_f", "last_axis"}, "pos_u"),
        make("Mul", {"pos_u", "inv_freq"}, "freqs"), make("Concat", {"freqs", "freqs"}, "emb"),
        make("Cos", {"emb"}, "/Gather_2_output_0"), make("Sin", {"emb"}, "/Gather_3_output_0")};
    auto* to = angles[0].add_attribute();
    to->set_name("to");
    to->set_type(onnx::AttributeProto::INT);
    to->set_i(onnx::TensorProto::FLOAT);
    auto* axis = angles[3].add_attribute();
    axis->set_name("axis");
    axis->set_type(onnx::AttributeProto::INT);
    axis->set_i(-1);
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (const auto& node : graph->node()) {
      if (node.name() == "/Gather_2") {
        for (const auto& a : angles) *nodes.Add() = a;
      } else if (node.name() != "/Gather_3") {
        *nodes.Add() = node;
      }
    }
    graph->mutable_node()->Swap(&nodes);
    RemoveInitializer(graph, "model.rotary_emb.cos_cached");
    RemoveInitializer(graph, "model.rotary_emb.sin_cached");
  });
}

}  // namespace pq::testing
