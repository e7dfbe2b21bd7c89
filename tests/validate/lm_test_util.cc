#include "validate/lm_test_util.h"

#include <random>

#include "testutil/model_builder.h"

namespace pq::testing {
namespace {

onnx::ValueInfoProto Info(const std::string& name, int32_t type, const std::vector<std::string>& dims,
                          const std::vector<int64_t>& fixed) {
  onnx::ValueInfoProto v;
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(type);
  for (size_t d = 0; d < dims.size(); ++d) {
    auto* dim = tt->mutable_shape()->add_dim();
    if (dims[d].empty()) {
      dim->set_dim_value(fixed[d]);
    } else {
      dim->set_dim_param(dims[d]);
    }
  }
  return v;
}

}  // namespace

onnx::ModelProto BigramDecoder(const std::vector<float>& table) {
  onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("pq-tests");
  m.add_opset_import()->set_version(17);
  onnx::GraphProto* g = m.mutable_graph();
  g->set_name("bigram_decoder");
  const int32_t kInt64 = onnx::TensorProto::INT64, kFloat = onnx::TensorProto::FLOAT;
  *g->add_input() = Info("input_ids", kInt64, {"batch", "sequence"}, {0, 0});
  *g->add_input() = Info("attention_mask", kInt64, {"batch", "total"}, {0, 0});
  *g->add_input() = Info("position_ids", kInt64, {"batch", "sequence"}, {0, 0});
  *g->add_input() = Info("past_key_values.0.key", kFloat, {"batch", "", "past", ""},
                         {0, kLmKvHeads, 0, kLmHeadDim});
  *g->add_output() = Info("logits", kFloat, {"batch", "sequence", ""}, {0, 0, kLmVocab});
  *g->add_output() = Info("present.0.key", kFloat, {"batch", "", "past", ""},
                          {0, kLmKvHeads, 0, kLmHeadDim});
  std::vector<float> one_hot(static_cast<size_t>(kLmVocab * kLmVocab), 0.0f);
  for (int64_t v = 0; v < kLmVocab; ++v) one_hot[static_cast<size_t>(v * kLmVocab + v)] = 1.0f;
  *g->add_initializer() = FloatTensor("embed.weight", {kLmVocab, kLmVocab}, one_hot);
  *g->add_initializer() = FloatTensor("lm_head.weight", {kLmVocab, kLmVocab}, table);
  onnx::NodeProto* gather = g->add_node();
  gather->set_op_type("Gather");
  gather->set_name("embed");
  gather->add_input("embed.weight");
  gather->add_input("input_ids");
  gather->add_output("hidden");
  onnx::NodeProto* head = g->add_node();
  head->set_op_type("MatMul");
  head->set_name("lm_head");
  head->add_input("hidden");
  head->add_input("lm_head.weight");
  head->add_output("logits");
  onnx::NodeProto* present = g->add_node();
  present->set_op_type("Identity");
  present->set_name("present");
  present->add_input("past_key_values.0.key");
  present->add_output("present.0.key");
  return m;
}

std::vector<float> BigramTable(uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  std::vector<float> t(static_cast<size_t>(kLmVocab * kLmVocab));
  for (float& v : t) v = dist(rng);
  return t;
}

}  // namespace pq::testing
