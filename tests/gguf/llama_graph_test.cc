// Tests of RecognizeLlama and PermuteForInterleavedRope (src/gguf/
// llama_graph.cc, llama_blocks.cc, llama_norms.cc, llama_rope.cc) on the
// sample decoder models/tiny_llm in both layouts, their float16 and packed
// QKV copies, variants edited here (tied embeddings, run-time rotary angles,
// a contradicting norm) and a model that is no decoder.
#include "gguf/llama_graph.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

#include "exec/kernels/elementwise_math.h"
#include "onnx/onnx_pb.h"
#include "gguf/tiny_llm_variants.h"
#include "testutil/temp_dir.h"

namespace pq::gguf {
namespace {

// models/tiny_llm/config.json.
constexpr int64_t kVocab = 1536;
constexpr int64_t kEmbd = 128;
constexpr int64_t kLayers = 4;
constexpr int64_t kHeads = 4;
constexpr int64_t kKvHeads = 2;
constexpr int64_t kHeadDim = 32;
constexpr int64_t kFeedForward = 352;
constexpr int64_t kContext = 128;
constexpr double kRopeBase = 10000.0;
constexpr double kRmsEpsilon = 1e-5;
// Tensors: token_embd, 9 per block, output_norm, output.
constexpr size_t kUntiedTensors = 1 + 9 * kLayers + 2;

const std::string& TinyLlmDir() {
  static const std::string dir = std::string(PQ_SOURCE_DIR) + "/models/tiny_llm";
  return dir;
}

std::unique_ptr<Model> LoadOrDie(const std::string& path) {
  Result<std::unique_ptr<Model>> model = Model::Load(path);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(model).value() : nullptr;
}

std::unique_ptr<Model> FromProto(const onnx::ModelProto& proto, const std::string& origin) {
  Result<std::unique_ptr<Model>> model =
      Model::FromProto(std::make_unique<onnx::ModelProto>(proto), TinyLlmDir(), origin);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? std::move(model).value() : nullptr;
}

LlamaDecoder RecognizeOrDie(const Model& model) {
  Result<LlamaDecoder> decoder = RecognizeLlama(model);
  EXPECT_TRUE(decoder.ok()) << decoder.status().ToString();
  return decoder.ok() ? std::move(decoder).value() : LlamaDecoder();
}

// Runs one of the repository's python tools; true when it succeeded.
bool RunTool(const std::string& args) {
  const std::string command = "/usr/bin/python3 " + std::string(PQ_SOURCE_DIR) + "/tools/" + args +
                              " > /dev/null";
  return std::system(command.c_str()) == 0;
}

const LlamaWeight* Find(const LlamaDecoder& decoder, const std::string& name) {
  for (const LlamaWeight& w : decoder.weights) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

// A float32 constant of `model` as floats.
std::vector<float> Floats(const Model& model, const std::string& name) {
  const ConstantTensor* constant = model.FindConstant(name);
  EXPECT_NE(constant, nullptr) << name;
  if (constant == nullptr) return {};
  EXPECT_EQ(constant->data_type, 1) << name;
  std::vector<float> out(static_cast<size_t>(constant->element_count));
  std::memcpy(out.data(), constant->data, out.size() * sizeof(float));
  return out;
}

// The transpose of a row-major [rows, cols] matrix.
std::vector<float> Transposed(const std::vector<float>& m, int64_t rows, int64_t cols) {
  std::vector<float> out(m.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = m[r * cols + c];
  }
  return out;
}

void ExpectTinyLlmHyperParams(const LlamaHyperParams& hp) {
  EXPECT_EQ(hp.vocab, kVocab);
  EXPECT_EQ(hp.embedding, kEmbd);
  EXPECT_EQ(hp.layers, kLayers);
  EXPECT_EQ(hp.heads, kHeads);
  EXPECT_EQ(hp.kv_heads, kKvHeads);
  EXPECT_EQ(hp.head_dim, kHeadDim);
  EXPECT_EQ(hp.feed_forward, kFeedForward);
  EXPECT_EQ(hp.rope_dims, kHeadDim);
  EXPECT_EQ(hp.rope_base, kRopeBase);
  EXPECT_EQ(hp.rms_epsilon, kRmsEpsilon);
  EXPECT_EQ(hp.context_length, kContext);
  EXPECT_TRUE(hp.rope_half_split);
  EXPECT_FALSE(hp.tied_embeddings);
}

// Every GGUF tensor of the tiny LLM with its shape, in GGUF order.
std::vector<std::pair<std::string, std::vector<int64_t>>> ExpectedTensors(bool tied) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> out;
  out.push_back({"token_embd.weight", {kVocab, kEmbd}});
  for (int b = 0; b < kLayers; ++b) {
    const std::string p = "blk." + std::to_string(b) + ".";
    out.push_back({p + "attn_norm.weight", {kEmbd}});
    out.push_back({p + "attn_q.weight", {kHeads * kHeadDim, kEmbd}});
    out.push_back({p + "attn_k.weight", {kKvHeads * kHeadDim, kEmbd}});
    out.push_back({p + "attn_v.weight", {kKvHeads * kHeadDim, kEmbd}});
    out.push_back({p + "attn_output.weight", {kEmbd, kHeads * kHeadDim}});
    out.push_back({p + "ffn_norm.weight", {kEmbd}});
    out.push_back({p + "ffn_gate.weight", {kFeedForward, kEmbd}});
    out.push_back({p + "ffn_up.weight", {kFeedForward, kEmbd}});
    out.push_back({p + "ffn_down.weight", {kEmbd, kFeedForward}});
  }
  out.push_back({"output_norm.weight", {kEmbd}});
  if (!tied) out.push_back({"output.weight", {kVocab, kEmbd}});
  return out;
}

void ExpectTensorList(const LlamaDecoder& decoder, bool tied) {
  const auto expected = ExpectedTensors(tied);
  ASSERT_EQ(decoder.weights.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const LlamaWeight& w = decoder.weights[i];
    EXPECT_EQ(w.name, expected[i].first);
    EXPECT_EQ(w.shape, expected[i].second) << w.name;
    int64_t count = 1;
    for (int64_t d : w.shape) count *= d;
    EXPECT_EQ(static_cast<int64_t>(w.values.size()), count) << w.name;
    EXPECT_EQ(w.sources.size(), 1u) << w.name;
  }
}

// Expects the same names, shapes and values (exactly) in both.
void ExpectSameWeights(const LlamaDecoder& a, const LlamaDecoder& b) {
  ASSERT_EQ(a.weights.size(), b.weights.size());
  for (size_t i = 0; i < a.weights.size(); ++i) {
    EXPECT_EQ(a.weights[i].name, b.weights[i].name);
    EXPECT_EQ(a.weights[i].shape, b.weights[i].shape) << a.weights[i].name;
    EXPECT_TRUE(a.weights[i].values == b.weights[i].values) << a.weights[i].name;
    EXPECT_EQ(a.weights[i].rope_permuted, b.weights[i].rope_permuted) << a.weights[i].name;
  }
}

class LlamaGraphTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    optimum_model_ = LoadOrDie(TinyLlmDir() + "/tiny_llm_optimum.onnx").release();
    genai_model_ = LoadOrDie(TinyLlmDir() + "/tiny_llm_genai.onnx").release();
    optimum_ = new LlamaDecoder(RecognizeOrDie(*optimum_model_));
    genai_ = new LlamaDecoder(RecognizeOrDie(*genai_model_));
  }
  static void TearDownTestSuite() {
    delete optimum_;
    delete genai_;
    delete optimum_model_;
    delete genai_model_;
  }
  static Model* optimum_model_;
  static Model* genai_model_;
  static LlamaDecoder* optimum_;
  static LlamaDecoder* genai_;
};
Model* LlamaGraphTest::optimum_model_ = nullptr;
Model* LlamaGraphTest::genai_model_ = nullptr;
LlamaDecoder* LlamaGraphTest::optimum_ = nullptr;
LlamaDecoder* LlamaGraphTest::genai_ = nullptr;

TEST(LlamaPermuteTest, HalvesBecomeAdjacentPairsWithinEachHead) {
  // 2 heads of head_dim 6, rope_dims 4, 2 columns. Row value = 10 * row + col.
  std::vector<float> values;
  for (int row = 0; row < 12; ++row) {
    for (int col = 0; col < 2; ++col) values.push_back(10.0f * row + col);
  }
  PermuteForInterleavedRope(&values, /*heads=*/2, /*head_dim=*/6, /*rope_dims=*/4, /*cols=*/2);
  // Per head: rows (h0 i0, h0 i1, h1 i0, h1 i1, pass, pass) -> (0, 2, 1, 3, 4, 5).
  const std::vector<int> source_row = {0, 2, 1, 3, 4, 5, 6, 8, 7, 9, 10, 11};
  for (int row = 0; row < 12; ++row) {
    EXPECT_EQ(values[row * 2], 10.0f * source_row[row]) << row;
    EXPECT_EQ(values[row * 2 + 1], 10.0f * source_row[row] + 1) << row;
  }
}

TEST_F(LlamaGraphTest, OptimumLayoutGivesTheConfigHyperParameters) {
  ExpectTinyLlmHyperParams(optimum_->hparams);
  ExpectTensorList(*optimum_, /*tied=*/false);
}

TEST_F(LlamaGraphTest, GenaiLayoutGivesTheConfigHyperParameters) {
  ExpectTinyLlmHyperParams(genai_->hparams);
  ExpectTensorList(*genai_, /*tied=*/false);
}

TEST_F(LlamaGraphTest, MatricesAreTheTransposedInitializers) {
  const LlamaWeight* down = Find(*optimum_, "blk.0.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->sources, std::vector<std::string>{"model.layers.0.mlp.down_proj.weight"});
  EXPECT_EQ(down->activation, "/layers.0/mlp/Mul_1_output_0");
  EXPECT_FALSE(down->rope_permuted);
  EXPECT_TRUE(down->values == Transposed(Floats(*optimum_model_, "model.layers.0.mlp.down_proj.weight"),
                                         kFeedForward, kEmbd));
  const LlamaWeight* embd = Find(*optimum_, "token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_TRUE(embd->values == Floats(*optimum_model_, "model.embed_tokens.weight"));
  EXPECT_EQ(embd->activation, "");
  const LlamaWeight* norm = Find(*optimum_, "blk.3.ffn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_TRUE(norm->values == Floats(*optimum_model_, "model.layers.3.post_attention_layernorm.weight"));
  const LlamaWeight* output = Find(*optimum_, "output.weight");
  ASSERT_NE(output, nullptr);
  EXPECT_TRUE(output->values == Transposed(Floats(*optimum_model_, "lm_head.weight"), kEmbd, kVocab));
}

TEST_F(LlamaGraphTest, QAndKRowsArePermutedForInterleavedRope) {
  for (const char* which : {"q", "k"}) {
    const std::string name = std::string("blk.1.attn_") + which + ".weight";
    const LlamaWeight* w = Find(*optimum_, name);
    ASSERT_NE(w, nullptr);
    EXPECT_TRUE(w->rope_permuted);
    EXPECT_EQ(w->activation, "/layers.1/input_layernorm/Mul_1_output_0");
    const int64_t rows = w->shape[0];
    const std::vector<float> plain = Transposed(
        Floats(*optimum_model_, std::string("model.layers.1.self_attn.") + which + "_proj.weight"),
        kEmbd, rows);
    // Row half * 16 + i of a head moves to 2 * i + half (llama_graph.h).
    const int64_t half = kHeadDim / 2;
    for (int64_t head = 0; head < rows / kHeadDim; ++head) {
      for (int64_t i : {0, 1, 7, 15}) {
        for (int64_t part : {0, 1}) {
          const int64_t from = head * kHeadDim + part * half + i;
          const int64_t to = head * kHeadDim + 2 * i + part;
          for (int64_t c : {0, 5, 127}) {
            EXPECT_EQ(w->values[to * kEmbd + c], plain[from * kEmbd + c])
                << name << " row " << from << " -> " << to;
          }
        }
      }
    }
  }
}

TEST_F(LlamaGraphTest, BothLayoutsGiveTheSameWeights) {
  ExpectSameWeights(*optimum_, *genai_);
  const LlamaWeight* q = Find(*genai_, "blk.2.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->activation, "/model/layers.2/input_layernorm/output_0");
  EXPECT_EQ(q->sources, std::vector<std::string>{"model.layers.2.attn.q_proj.MatMul.weight"});
}

TEST_F(LlamaGraphTest, PackedQkvIsSplitIntoTheSameRows) {
  testing::TempDir dir;
  const std::string packed = dir.File("packed.onnx");
  ASSERT_TRUE(RunTool("make_tiny_llm_genai.py --packed-qkv --out " + packed));
  std::unique_ptr<Model> model = LoadOrDie(packed);
  ASSERT_NE(model, nullptr);
  const LlamaDecoder decoder = RecognizeOrDie(*model);
  ExpectTinyLlmHyperParams(decoder.hparams);
  ExpectSameWeights(*optimum_, decoder);
  const LlamaWeight* v = Find(decoder, "blk.0.attn_v.weight");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->sources, std::vector<std::string>{"model.layers.0.attn.qkv_proj.MatMul.weight"});
}

TEST_F(LlamaGraphTest, Float16CopiesGiveTheRoundedValues) {
  for (const char* layout : {"optimum", "genai"}) {
    SCOPED_TRACE(layout);
    testing::TempDir dir;
    const std::string fp16 = dir.File("fp16.onnx");
    ASSERT_TRUE(RunTool("make_fp16_model.py " + TinyLlmDir() + "/tiny_llm_" + layout + ".onnx " +
                        fp16));
    std::unique_ptr<Model> model = LoadOrDie(fp16);
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(model->FindConstant("model.embed_tokens.weight")->data_type, 10);
    const LlamaDecoder decoder = RecognizeOrDie(*model);
    ExpectTinyLlmHyperParams(decoder.hparams);
    ASSERT_EQ(decoder.weights.size(), optimum_->weights.size());
    for (size_t i = 0; i < decoder.weights.size(); ++i) {
      const std::vector<float>& full = optimum_->weights[i].values;
      const std::vector<float>& half = decoder.weights[i].values;
      ASSERT_EQ(full.size(), half.size());
      size_t mismatches = 0;
      for (size_t j = 0; j < full.size(); ++j) {
        mismatches += half[j] != exec::RoundToFloat16(full[j]);
      }
      EXPECT_EQ(mismatches, 0u) << decoder.weights[i].name;
    }
  }
}

TEST(LlamaGraphErrorTest, ACnnIsRefusedNamingTheMissingEmbedding) {
  std::unique_ptr<Model> model = LoadOrDie(testing::ModelsDir() + "/fashion_cnn.onnx");
  ASSERT_NE(model, nullptr);
  Result<LlamaDecoder> decoder = RecognizeLlama(*model);
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(decoder.status().message().find("no embedding Gather reads input"), std::string::npos)
      << decoder.status().message();
  EXPECT_NE(decoder.status().message().find("fashion_cnn.onnx"), std::string::npos);
}

TEST(LlamaGraphVariantTest, LmHeadReadingTheEmbeddingIsTied) {
  const onnx::ModelProto proto = testing::TiedTinyLlm();
  std::unique_ptr<Model> model = FromProto(proto, "tied.onnx");
  ASSERT_NE(model, nullptr);
  const LlamaDecoder decoder = RecognizeOrDie(*model);
  EXPECT_TRUE(decoder.hparams.tied_embeddings);
  EXPECT_EQ(Find(decoder, "output.weight"), nullptr);
  ExpectTensorList(decoder, /*tied=*/true);
  EXPECT_EQ(decoder.weights.size(), kUntiedTensors - 1);
}

TEST(LlamaGraphVariantTest, RunTimeAnglesGiveBaseAndNoContextLength) {
  const onnx::ModelProto proto = testing::RunTimeRopeTinyLlm();
  std::unique_ptr<Model> model = FromProto(proto, "runtime_rope.onnx");
  ASSERT_NE(model, nullptr);
  const LlamaDecoder decoder = RecognizeOrDie(*model);
  EXPECT_EQ(decoder.hparams.context_length, 0);
  EXPECT_EQ(decoder.hparams.rope_base, kRopeBase);
  EXPECT_EQ(decoder.hparams.rope_dims, kHeadDim);
  EXPECT_TRUE(decoder.hparams.rope_half_split);
  EXPECT_EQ(decoder.weights.size(), kUntiedTensors);
}

// The float32 values of an initializer held in raw_data.
std::vector<float> RawFloats(const onnx::TensorProto& tensor) {
  std::vector<float> out(tensor.raw_data().size() / sizeof(float));
  std::memcpy(out.data(), tensor.raw_data().data(), tensor.raw_data().size());
  return out;
}

// Torch-style attention fed by one packed qkv MatMul and a Split.
TEST_F(LlamaGraphTest, PackedQkvWithSplitInWrittenOutAttention) {
  const onnx::ModelProto proto = testing::EditedTinyLlm([](onnx::GraphProto* graph) {
    std::map<std::string, std::vector<float>> values;
    for (const auto& init : graph->initializer()) values[init.name()] = RawFloats(init);
    onnx::TensorProto* sizes = graph->add_initializer();
    sizes->set_name("qkv_sizes");
    sizes->set_data_type(onnx::TensorProto::INT64);
    sizes->add_dims(3);
    for (int64_t n : {kHeads * kHeadDim, kKvHeads * kHeadDim, kKvHeads * kHeadDim}) {
      sizes->add_int64_data(n);
    }
    google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
    for (const auto& node : graph->node()) {
      const std::string& name = node.name();
      if (name.find("/k_proj/MatMul") != std::string::npos ||
          name.find("/v_proj/MatMul") != std::string::npos) {
        continue;
      }
      if (name.find("/q_proj/MatMul") == std::string::npos) {
        *nodes.Add() = node;
        continue;
      }
      const std::string layer = name.substr(1, name.find('/', 1) - 1);  // "layers.N"
      const std::string w = "model." + layer + ".self_attn.";
      const int64_t width = (kHeads + 2 * kKvHeads) * kHeadDim;
      std::vector<float> packed;
      for (int64_t row = 0; row < kEmbd; ++row) {  // [in, out]: concatenate each row
        for (const char* part : {"q", "k", "v"}) {
          const std::vector<float>& src = values[w + part + "_proj.weight"];
          const int64_t cols = static_cast<int64_t>(src.size()) / kEmbd;
          packed.insert(packed.end(), src.begin() + row * cols, src.begin() + (row + 1) * cols);
        }
      }
      onnx::TensorProto* init = graph->add_initializer();
      init->set_name(w + "qkv_proj.weight");
      init->set_data_type(onnx::TensorProto::FLOAT);
      init->add_dims(kEmbd);
      init->add_dims(width);
      init->set_raw_data(packed.data(), packed.size() * sizeof(float));
      onnx::NodeProto* matmul = nodes.Add();
      *matmul = node;
      matmul->set_input(1, init->name());
      matmul->set_output(0, "/" + layer + "/qkv");
      onnx::NodeProto* split = nodes.Add();
      split->set_op_type("Split");
      split->set_name("/" + layer + "/qkv_split");
      split->add_input(matmul->output(0));
      split->add_input("qkv_sizes");
      for (const char* part : {"q", "k", "v"}) {
        split->add_output("/" + layer + "/self_attn/" + part + "_proj/MatMul_output_0");
      }
      auto* axis = split->add_attribute();
      axis->set_name("axis");
      axis->set_type(onnx::AttributeProto::INT);
      axis->set_i(-1);
    }
    graph->mutable_node()->Swap(&nodes);
  });
  std::unique_ptr<Model> model = FromProto(proto, "packed_split.onnx");
  ASSERT_NE(model, nullptr);
  const LlamaDecoder decoder = RecognizeOrDie(*model);
  ExpectTinyLlmHyperParams(decoder.hparams);
  ExpectSameWeights(*optimum_, decoder);
  const LlamaWeight* k = Find(decoder, "blk.3.attn_k.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->sources, std::vector<std::string>{"model.layers.3.self_attn.qkv_proj.weight"});
}

TEST(LlamaGraphVariantTest, NormOfTheWrongSizeIsInvalidInput) {
  const onnx::ModelProto proto = testing::EditedTinyLlm([](onnx::GraphProto* graph) {
    for (auto& init : *graph->mutable_initializer()) {
      if (init.name() != "model.layers.2.input_layernorm.weight") continue;
      init.set_dims(0, kEmbd / 2);
      init.mutable_raw_data()->resize(kEmbd / 2 * sizeof(float));
    }
  });
  std::unique_ptr<Model> model = FromProto(proto, "bad_norm.onnx");
  ASSERT_NE(model, nullptr);
  Result<LlamaDecoder> decoder = RecognizeLlama(*model);
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.status().code(), Status::Code::kInvalidInput);
  EXPECT_NE(decoder.status().message().find("block 2"), std::string::npos)
      << decoder.status().message();
  EXPECT_NE(decoder.status().message().find("model.layers.2.input_layernorm.weight"),
            std::string::npos);
}

TEST(LlamaGraphVariantTest, MissingNormIsNotSupportedNamingTheBlock) {
  const onnx::ModelProto proto = testing::EditedTinyLlm([](onnx::GraphProto* graph) {
    // Block 1's input norm squares with Pow(x, 3): no RMSNorm any more.
    for (auto& init : *graph->mutable_node()) {
      if (init.name() != "/layers.1/input_layernorm/Pow") continue;
      init.set_input(1, "/layers.0/input_layernorm/Constant_2_output_0");  // the constant 1
    }
  });
  std::unique_ptr<Model> model = FromProto(proto, "no_norm.onnx");
  ASSERT_NE(model, nullptr);
  Result<LlamaDecoder> decoder = RecognizeLlama(*model);
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(decoder.status().message().find("block 1: no RMSNorm found before the attention"),
            std::string::npos)
      << decoder.status().message();
}

// q = MatMul(x, Wq) + b: llama.cpp's llama tensors have no bias, so the
// model is refused instead of written without it.
TEST(LlamaGraphVariantTest, AProjectionBiasIsNotSupportedNamingTheNode) {
  const onnx::ModelProto proto = testing::EditedTinyLlm([](onnx::GraphProto* graph) {
    const std::string product = "/layers.0/self_attn/q_proj/MatMul_output_0";
    onnx::TensorProto* bias = graph->add_initializer();
    bias->set_name("q_bias");
    bias->set_data_type(onnx::TensorProto::FLOAT);
    bias->add_dims(kHeads * kHeadDim);
    for (int64_t i = 0; i < kHeads * kHeadDim; ++i) bias->add_float_data(0.01f);
    for (auto& node : *graph->mutable_node()) {
      for (auto& input : *node.mutable_input()) {
        if (input == product) input = "q_biased";
      }
    }
    onnx::NodeProto* add = graph->add_node();
    add->set_op_type("Add");
    add->set_name("/q_bias/Add");
    add->add_input(product);
    add->add_input("q_bias");
    add->add_output("q_biased");
  });
  std::unique_ptr<Model> model = FromProto(proto, "biased.onnx");
  ASSERT_NE(model, nullptr);
  Result<LlamaDecoder> decoder = RecognizeLlama(*model);
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(decoder.status().message().find("adds a bias ('q_bias'"), std::string::npos)
      << decoder.status().message();
}

}  // namespace
}  // namespace pq::gguf
