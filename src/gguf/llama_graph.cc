// RecognizeLlama: walks the residual stream from the embedding Gather through
// the blocks (norm, attention, norm, MLP) to the final norm and the lm_head.
// The attention and MLP of one block are read by llama_blocks.cc.
#include "gguf/llama_graph.h"

#include <cstdio>
#include <cstdlib>

#include "base/float16.h"
#include "gguf/llama_blocks.h"
#include "gguf/llama_match.h"
#include "pq/data_type.h"

namespace pq::gguf {
namespace {

using internal::ConstantFloats;
using internal::ConstantRef;
using internal::GraphView;
using internal::NodeLabel;
using internal::NormMatch;
using internal::Projection;

// Ops a lm_head's logits may pass through on the way to a graph output.
bool IsPassThrough(const std::string& op) {
  return op == "Cast" || op == "Identity" || op == "Reshape" || op == "Squeeze" ||
         op == "Unsqueeze" || op == "Transpose";
}

// True when `tensor` is a graph output or reaches one through pass-through ops.
bool ReachesGraphOutput(const GraphView& view, const std::string& tensor) {
  constexpr int kMaxHops = 4;
  std::string name = tensor;
  for (int hop = 0; hop <= kMaxHops; ++hop) {
    if (view.IsGraphOutput(name)) return true;
    const auto& consumers = view.Consumers(name);
    if (consumers.size() != 1 || !IsPassThrough(consumers[0]->op_type())) return false;
    name = consumers[0]->output(0);
  }
  return false;
}

// The shortest decimal that rounds to `value` in the ONNX type `dtype`
// holding it (1e-5 rather than float32's 9.99999974738e-06 or float16's
// 1.00136e-05): the number the exporter was given.
double ShortestDecimal(double value, int32_t dtype) {
  constexpr int kMaxDigits = 17;  // enough for any double
  for (int digits = 1; digits < kMaxDigits; ++digits) {
    char text[40];
    std::snprintf(text, sizeof(text), "%.*g", digits, value);
    const double candidate = std::strtod(text, nullptr);
    double stored = candidate;
    if (dtype == kFloat) stored = static_cast<float>(candidate);
    if (dtype == kFloat16) stored = HalfBitsToFloat(FloatToHalfBits(static_cast<float>(candidate)));
    if (stored == value) return candidate;
  }
  return value;
}

class Recognizer {
 public:
  explicit Recognizer(const Model& model) : view_(model), origin_(model.origin()) {}

  Result<LlamaDecoder> Run() {
    PQ_RETURN_IF_ERROR(ReadEmbedding());
    for (int64_t index = 0;; ++index) {
      const std::string after = residual_producer_;
      std::optional<NormMatch> norm = internal::MatchRmsNorm(view_, residual_, pending_);
      if (!norm) {
        return Status::NotSupported(Where(index) + ": no RMSNorm found before the attention" +
                                    " (after node '" + after + "')");
      }
      const std::vector<const onnx::NodeProto*> heads =
          internal::WeightMatMulsOf(view_, norm->output);
      if (heads.size() == 1 && ReachesGraphOutput(view_, heads[0]->output(0))) {
        if (index == 0) {
          return Status::NotSupported("model '" + origin_ + "': no decoder block between the " +
                                      "embedding and the lm_head MatMul '" +
                                      NodeLabel(*heads[0]) + "'");
        }
        return Finish(*norm, *heads[0]);
      }
      Result<internal::BlockWeights> block =
          internal::ReadBlock(view_, *norm, Where(index), &hparams_, &residual_, &pending_);
      if (!block.ok()) return block.status();
      residual_producer_ = NodeLabel(*view_.Producer(pending_));
      PQ_RETURN_IF_ERROR(AddBlock(index, std::move(*block)));
    }
  }

 private:
  std::string Where(int64_t index) const {
    return "model '" + origin_ + "': block " + std::to_string(index);
  }

  // Finds the Gather of a [vocab, embedding] constant by the token ids.
  Status ReadEmbedding() {
    std::string ids = "input_ids";
    if (!view_.IsGraphInput(ids)) {
      for (const auto& input : view_.model().proto().graph().input()) {
        if (!view_.Consumers(input.name()).empty() &&
            input.type().tensor_type().elem_type() == onnx::TensorProto::INT64) {
          ids = input.name();
          break;
        }
      }
    }
    for (const onnx::NodeProto* node : view_.Consumers(ids)) {
      if (node->op_type() != "Gather" || node->input(1) != ids) continue;
      const std::optional<ConstantRef> ref = internal::ResolveConstant(view_, node->input(0));
      if (!ref || ref->transposed || ref->constant->dims.size() != 2) continue;
      Result<std::vector<float>> values = ConstantFloats(*ref->constant);
      if (!values.ok()) return values.status();
      hparams_.vocab = ref->constant->dims[0];
      hparams_.embedding = ref->constant->dims[1];
      embedding_source_ = ref->constant->name;
      LlamaWeight weight;
      weight.name = "token_embd.weight";
      weight.shape = {hparams_.vocab, hparams_.embedding};
      weight.values = std::move(*values);
      weight.sources = {embedding_source_};
      weights_.push_back(std::move(weight));
      residual_ = node->output(0);
      residual_producer_ = NodeLabel(*node);
      return Status::OK();
    }
    return Status::NotSupported("model '" + origin_ + "': no embedding Gather reads input '" +
                                ids + "'");
  }

  Result<LlamaWeight> NormWeight(const NormMatch& norm, const std::string& name,
                                 const std::string& where) const {
    const std::optional<ConstantRef> ref = internal::ResolveConstant(view_, norm.gamma);
    if (!ref) {
      return Status::NotSupported(where + ": the scale of norm '" + NodeLabel(*norm.last) +
                                  "' is not a constant");
    }
    if (ref->constant->element_count != hparams_.embedding) {
      return Status::InvalidInput(where + ": norm weight '" + ref->constant->name + "' has " +
                                  std::to_string(ref->constant->element_count) +
                                  " values, expected the embedding size " +
                                  std::to_string(hparams_.embedding));
    }
    Result<std::vector<float>> values = ConstantFloats(*ref->constant);
    if (!values.ok()) return values.status();
    LlamaWeight weight;
    weight.name = name;
    weight.shape = {hparams_.embedding};
    weight.values = std::move(*values);
    weight.sources = {ref->constant->name};
    return weight;
  }

  static LlamaWeight MatrixWeight(const std::string& name, Projection p) {
    LlamaWeight weight;
    weight.name = name;
    weight.shape = {p.rows, p.cols};
    weight.values = std::move(p.values);
    weight.sources = {p.source};
    weight.activation = p.activation;
    return weight;
  }

  Status AddBlock(int64_t index, internal::BlockWeights block) {
    const std::string blk = "blk." + std::to_string(index) + ".";
    if (index == 0) hparams_.rms_epsilon = ShortestDecimal(block.attn_norm.epsilon, block.attn_norm.epsilon_type);
    Result<LlamaWeight> attn_norm = NormWeight(block.attn_norm, blk + "attn_norm.weight", Where(index));
    if (!attn_norm.ok()) return attn_norm.status();
    Result<LlamaWeight> ffn_norm = NormWeight(block.ffn_norm, blk + "ffn_norm.weight", Where(index));
    if (!ffn_norm.ok()) return ffn_norm.status();
    LlamaWeight q = MatrixWeight(blk + "attn_q.weight", std::move(block.q));
    LlamaWeight k = MatrixWeight(blk + "attn_k.weight", std::move(block.k));
    if (hparams_.rope_half_split) {
      PermuteForInterleavedRope(&q.values, hparams_.heads, hparams_.head_dim, hparams_.rope_dims,
                                hparams_.embedding);
      PermuteForInterleavedRope(&k.values, hparams_.kv_heads, hparams_.head_dim,
                                hparams_.rope_dims, hparams_.embedding);
      q.rope_permuted = k.rope_permuted = true;
    }
    weights_.push_back(std::move(*attn_norm));
    weights_.push_back(std::move(q));
    weights_.push_back(std::move(k));
    weights_.push_back(MatrixWeight(blk + "attn_v.weight", std::move(block.v)));
    weights_.push_back(MatrixWeight(blk + "attn_output.weight", std::move(block.o)));
    weights_.push_back(std::move(*ffn_norm));
    weights_.push_back(MatrixWeight(blk + "ffn_gate.weight", std::move(block.gate)));
    weights_.push_back(MatrixWeight(blk + "ffn_up.weight", std::move(block.up)));
    weights_.push_back(MatrixWeight(blk + "ffn_down.weight", std::move(block.down)));
    hparams_.layers = index + 1;
    return Status::OK();
  }

  // The final norm and the lm_head (or the embedding reused: tied).
  Result<LlamaDecoder> Finish(const NormMatch& norm, const onnx::NodeProto& lm_head) {
    const std::string where = "model '" + origin_ + "': final norm";
    Result<LlamaWeight> output_norm = NormWeight(norm, "output_norm.weight", where);
    if (!output_norm.ok()) return output_norm.status();
    weights_.push_back(std::move(*output_norm));
    Result<Projection> head = internal::ReadProjection(view_, lm_head);
    if (!head.ok()) return head.status();
    if (head->rows != hparams_.vocab || head->cols != hparams_.embedding) {
      return Status::InvalidInput("model '" + origin_ + "': lm_head '" + NodeLabel(lm_head) +
                                  "' weight is [" + std::to_string(head->rows) + ", " +
                                  std::to_string(head->cols) + "] (out, in), expected [" +
                                  std::to_string(hparams_.vocab) + ", " +
                                  std::to_string(hparams_.embedding) + "]");
    }
    hparams_.tied_embeddings = head->source == embedding_source_;
    if (!hparams_.tied_embeddings) weights_.push_back(MatrixWeight("output.weight", std::move(*head)));
    LlamaDecoder decoder;
    decoder.hparams = hparams_;
    decoder.weights = std::move(weights_);
    return decoder;
  }

  GraphView view_;
  std::string origin_;
  LlamaHyperParams hparams_;
  std::vector<LlamaWeight> weights_;
  std::string embedding_source_;
  std::string residual_;  // the residual stream
  std::string pending_;   // a branch output not yet added to it ("" when none)
  std::string residual_producer_;
};

}  // namespace

Result<LlamaDecoder> RecognizeLlama(const Model& model) {
  Recognizer recognizer(model);
  return recognizer.Run();
}

void PermuteForInterleavedRope(std::vector<float>* values, int64_t heads, int64_t head_dim,
                               int64_t rope_dims, int64_t cols) {
  const int64_t half = rope_dims / 2;
  std::vector<float> head(static_cast<size_t>(head_dim * cols));
  for (int64_t h = 0; h < heads; ++h) {
    float* base = values->data() + h * head_dim * cols;
    std::copy(base, base + head_dim * cols, head.begin());
    for (int64_t part = 0; part < 2; ++part) {
      for (int64_t i = 0; i < half; ++i) {
        const float* from = head.data() + (part * half + i) * cols;
        std::copy(from, from + cols, base + (2 * i + part) * cols);
      }
    }
  }
}

}  // namespace pq::gguf
