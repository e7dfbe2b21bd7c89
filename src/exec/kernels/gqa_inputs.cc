// Input checks of com.microsoft GroupQueryAttention; see gqa_inputs.h for
// the semantics they resolve. Positions and key counts follow onnxruntime's
// CPU kernel (verified against onnxruntime 1.30): the first prompt is
// S == total_sequence_length; otherwise row b has past[b] = seqlens_k[b] + 1
// - S earlier keys and its new tokens sit at positions past[b] .. past[b] +
// S - 1.
#include "exec/kernels/gqa_inputs.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace pq::exec {
namespace {

std::string Str(int64_t v) { return std::to_string(v); }

// Errors unless input `i` (`what`) is a float tensor of rank `rank`.
Status FloatOfRank(const KernelContext& ctx, int i, const char* what, int64_t rank) {
  const Tensor& t = ctx.input(i);
  if (t.dtype() != kFloat) {
    return ctx.Unsupported(std::string("input '") + what + "' of type " + DataTypeName(t.dtype()) +
                           " is not supported (float and float16 are)");
  }
  if (t.rank() != rank) {
    return ctx.Error(std::string("input '") + what + "' has shape " + ShapeToString(t.shape()) +
                     ", expected rank " + Str(rank));
  }
  return Status::OK();
}

// Refuses what pq does not implement: listed inputs it could not load,
// quantized KV caches, Q/K norms, qk_output, non-causal or windowed caches.
Status RefuseUnsupported(const KernelContext& ctx) {
  for (int i = 0; i < ctx.node().input_size(); ++i) {
    if (ctx.node().input(i).empty()) continue;
    if (!ctx.has_input(i)) {
      return ctx.Unsupported("input " + Str(i) + " ('" + ctx.node().input(i) +
                             "') has a data type the executor does not compute with");
    }
    if (i > kGqaHeadSink) {
      return ctx.Unsupported("input " + Str(i) + " ('" + ctx.node().input(i) +
                             "': KV-cache scales or Q/K norm weights) is not supported");
    }
  }
  for (const char* attr : {"k_quant_type", "v_quant_type"}) {
    const std::string v = ctx.String(attr, "NONE");
    if (v != "NONE") return ctx.Unsupported(std::string(attr) + " = " + v + " is not supported");
  }
  if (ctx.Int("qk_output", 0) != 0 || ctx.num_outputs() > 3) {
    return ctx.Unsupported("the output_qk output (qk_output) is not supported");
  }
  if (ctx.Int("causal", 1) != 1) return ctx.Unsupported("causal = 0 is not supported");
  if (ctx.Int("sliding_window_cache", 0) != 0) {
    return ctx.Unsupported("sliding_window_cache = 1 is not supported");
  }
  return Status::OK();
}

// Resolves query/key/value (separate or packed) and the head counts.
Status ResolveQkv(const KernelContext& ctx, GqaProblem* p) {
  const int64_t n = ctx.Int("num_heads", 0), nkv = ctx.Int("kv_num_heads", 0);
  if (n <= 0 || nkv <= 0 || n % nkv != 0) {
    return ctx.Error("num_heads (" + Str(n) + ") and kv_num_heads (" + Str(nkv) +
                     ") must be positive, num_heads a multiple of kv_num_heads");
  }
  if (!ctx.has_input(kGqaQuery)) return ctx.Error("required input 'query' is missing");
  PQ_RETURN_IF_ERROR(FloatOfRank(ctx, kGqaQuery, "query", 3));
  const Tensor& q = ctx.input(kGqaQuery);
  p->heads = n, p->kv_heads = nkv, p->batch = q.dim(0), p->seq = q.dim(1);
  const bool has_k = ctx.has_input(kGqaKey), has_v = ctx.has_input(kGqaValue);
  if (has_k != has_v) return ctx.Error("key and value must be both given or both absent");
  const int64_t width = q.dim(2), per_token = has_k ? n : n + 2 * nkv;
  if (width % per_token != 0 || width == 0) {
    return ctx.Error("query " + ShapeToString(q.shape()) + " does not split into " +
                     Str(per_token) + (has_k ? " query heads" : " packed query/key/value heads"));
  }
  p->head_size = width / per_token;
  p->q = q.data<float>();
  p->q_row = width;
  if (!has_k) {  // packed [B, S, (N + 2 Nkv) H]
    p->k = p->q + n * p->head_size;
    p->v = p->k + nkv * p->head_size;
    p->kv_row = width;
    return Status::OK();
  }
  const std::vector<int64_t> kv_shape = {p->batch, p->seq, nkv * p->head_size};
  for (int i : {kGqaKey, kGqaValue}) {
    PQ_RETURN_IF_ERROR(FloatOfRank(ctx, i, i == kGqaKey ? "key" : "value", 3));
    if (ctx.input(i).shape() != kv_shape) {
      return ctx.Error(std::string(i == kGqaKey ? "key" : "value") + " has shape " +
                       ShapeToString(ctx.input(i).shape()) + ", expected " +
                       ShapeToString(kv_shape));
    }
  }
  p->k = ctx.input(kGqaKey).data<float>();
  p->v = ctx.input(kGqaValue).data<float>();
  p->kv_row = nkv * p->head_size;
  return Status::OK();
}

// Resolves past_key/past_value, seqlens_k and total_sequence_length, and the
// per-row key counts.
Status ResolveLengths(const KernelContext& ctx, GqaProblem* p) {
  const bool has_pk = ctx.has_input(kGqaPastKey), has_pv = ctx.has_input(kGqaPastValue);
  if (has_pk != has_pv)
    return ctx.Error("past_key and past_value must be both given or both absent");
  if (has_pk) {
    PQ_RETURN_IF_ERROR(FloatOfRank(ctx, kGqaPastKey, "past_key", 4));
    PQ_RETURN_IF_ERROR(FloatOfRank(ctx, kGqaPastValue, "past_value", 4));
    const Tensor& pk = ctx.input(kGqaPastKey);
    if (pk.dim(0) != p->batch || pk.dim(1) != p->kv_heads || pk.dim(3) != p->head_size ||
        ctx.input(kGqaPastValue).shape() != pk.shape()) {
      return ctx.Error("past_key " + ShapeToString(pk.shape()) + " and past_value " +
                       ShapeToString(ctx.input(kGqaPastValue).shape()) + " must both be [" +
                       Str(p->batch) + ", " + Str(p->kv_heads) + ", past, " + Str(p->head_size) +
                       "]");
    }
    p->past_len = pk.dim(2);
    p->past_key = pk.data<float>();
    p->past_value = ctx.input(kGqaPastValue).data<float>();
  }
  if (!ctx.has_input(kGqaSeqlensK) || !ctx.has_input(kGqaTotalSequenceLength)) {
    return ctx.Error("required inputs seqlens_k and total_sequence_length must be given");
  }
  const Tensor& seqlens = ctx.input(kGqaSeqlensK);
  const Tensor& total = ctx.input(kGqaTotalSequenceLength);
  if (seqlens.dtype() != kInt32 || seqlens.rank() != 1 || seqlens.dim(0) != p->batch) {
    return ctx.Error("seqlens_k " + DataTypeName(seqlens.dtype()) + " " +
                     ShapeToString(seqlens.shape()) + " must be int32 [" + Str(p->batch) + "]");
  }
  if (total.dtype() != kInt32 || total.size() != 1 || total.rank() > 1) {
    return ctx.Error("total_sequence_length must be one int32 value");
  }
  p->total = total.data<int32_t>()[0];
  p->present_len = std::max(p->total, p->past_len);
  p->first_prompt = p->seq == p->total;
  if (!p->first_prompt && !has_pk) {
    return ctx.Error("without past_key/past_value, total_sequence_length (" + Str(p->total) +
                     ") must equal the sequence length " + Str(p->seq));
  }
  for (int64_t b = 0; b < p->batch; ++b) {
    const int64_t valid = int64_t{seqlens.data<int32_t>()[b]} + 1;
    const int64_t past = p->first_prompt ? 0 : valid - p->seq;
    const std::string row = "seqlens_k[" + Str(b) + "] = " + Str(valid - 1);
    if (valid < 1 || valid > p->total) {
      return ctx.Error(row + " must be in [0, total_sequence_length - 1 = " + Str(p->total - 1) +
                       "]");
    }
    if (p->first_prompt && valid > p->seq) {
      return ctx.Error(row + " exceeds the prompt's " + Str(p->seq) + " tokens");
    }
    if (past < 0 || past > p->past_len) {
      return ctx.Error(row + " leaves " + Str(past) + " past keys for the " + Str(p->seq) +
                       " new tokens; past_key holds " + Str(p->past_len));
    }
    p->valid.push_back(valid);
    p->past.push_back(past);
  }
  return Status::OK();
}

// Resolves do_rotary: the caches and every token's cache row.
Status ResolveRotary(const KernelContext& ctx, GqaProblem* p) {
  if (ctx.Int("do_rotary", 0) == 0) return Status::OK();
  if (!ctx.has_input(kGqaCosCache) || !ctx.has_input(kGqaSinCache)) {
    return ctx.Error("do_rotary = 1 needs cos_cache and sin_cache");
  }
  PQ_RETURN_IF_ERROR(FloatOfRank(ctx, kGqaCosCache, "cos_cache", 2));
  PQ_RETURN_IF_ERROR(FloatOfRank(ctx, kGqaSinCache, "sin_cache", 2));
  const Tensor& cos = ctx.input(kGqaCosCache);
  p->rotary_dim = 2 * cos.dim(1);
  if (ctx.input(kGqaSinCache).shape() != cos.shape() || p->rotary_dim == 0 ||
      p->rotary_dim > p->head_size) {
    return ctx.Error(
        "cos_cache " + ShapeToString(cos.shape()) + " and sin_cache " +
        ShapeToString(ctx.input(kGqaSinCache).shape()) +
        " must share a shape [rows, rotary_dim / 2] with 0 < rotary_dim <= head size " +
        Str(p->head_size));
  }
  p->cos = cos.data<float>();
  p->sin = ctx.input(kGqaSinCache).data<float>();
  p->rotary_interleaved = ctx.Int("rotary_interleaved", 0) != 0;
  const int64_t* ids = nullptr;
  if (ctx.has_input(kGqaPositionIds)) {
    const Tensor& t = ctx.input(kGqaPositionIds);
    if (t.dtype() != kInt64 || t.shape() != std::vector<int64_t>{p->batch, p->seq}) {
      return ctx.Error("position_ids " + DataTypeName(t.dtype()) + " " + ShapeToString(t.shape()) +
                       " must be int64 [" + Str(p->batch) + ", " + Str(p->seq) + "]");
    }
    ids = t.data<int64_t>();
  }
  // The first prompt counts from position_ids[0, 0] (onnxruntime reads only
  // that element), else from 0; later calls use position_ids or past[b] + s.
  for (int64_t b = 0; b < p->batch; ++b) {
    for (int64_t s = 0; s < p->seq; ++s) {
      const int64_t pos = p->first_prompt  ? (ids != nullptr ? ids[0] : 0) + s
                          : ids != nullptr ? ids[b * p->seq + s]
                                           : p->past[static_cast<size_t>(b)] + s;
      if (pos < 0 || pos >= cos.dim(0)) {
        return ctx.Error("position " + Str(pos) + " of token [" + Str(b) + ", " + Str(s) +
                         "] is outside the " + Str(cos.dim(0)) + " rows of cos_cache");
      }
      p->positions.push_back(pos);
    }
  }
  return Status::OK();
}

// Resolves scale, softcap, local_window_size, attention_bias and the sinks.
Status ResolveScores(const KernelContext& ctx, GqaProblem* p) {
  const float scale = ctx.Float("scale", 0.0f);
  p->scale = scale != 0.0f ? scale : 1.0f / std::sqrt(static_cast<float>(p->head_size));
  p->softcap = ctx.Float("softcap", 0.0f);
  if (!(p->softcap >= 0.0f))
    return ctx.Error("softcap must be >= 0, got " + std::to_string(p->softcap));
  const int64_t window = ctx.Int("local_window_size", -1);
  if (window == 0 || window < -1) {
    return ctx.Error("local_window_size must be -1 (none) or positive, got " + Str(window));
  }
  p->window = window > 0 ? window : 0;
  if (ctx.has_input(kGqaAttentionBias)) {
    PQ_RETURN_IF_ERROR(FloatOfRank(ctx, kGqaAttentionBias, "attention_bias", 4));
    const Tensor& bias = ctx.input(kGqaAttentionBias);
    if ((bias.dim(0) != 1 && bias.dim(0) != p->batch) ||
        (bias.dim(1) != 1 && bias.dim(1) != p->heads) || bias.dim(2) != p->seq ||
        bias.dim(3) != p->total) {
      return ctx.Error("attention_bias has shape " + ShapeToString(bias.shape()) + ", expected [" +
                       Str(p->batch) + " or 1, " + Str(p->heads) + " or 1, " + Str(p->seq) + ", " +
                       Str(p->total) + "]");
    }
    p->bias = bias.data<float>();
    p->bias_head = bias.dim(1) == 1 ? 0 : p->seq * p->total;
    p->bias_batch = bias.dim(0) == 1 ? 0 : bias.dim(1) * p->seq * p->total;
  }
  const bool smooth = ctx.Int("smooth_softmax", 0) != 0;
  if (ctx.has_input(kGqaHeadSink)) {
    if (smooth) return ctx.Error("head_sink must not be given with smooth_softmax = 1");
    PQ_RETURN_IF_ERROR(FloatOfRank(ctx, kGqaHeadSink, "head_sink", 1));
    if (ctx.input(kGqaHeadSink).dim(0) != p->heads) {
      return ctx.Error("head_sink has shape " + ShapeToString(ctx.input(kGqaHeadSink).shape()) +
                       ", expected [" + Str(p->heads) + "]");
    }
    p->head_sink = ctx.input(kGqaHeadSink).data<float>();
  }
  p->sink_softmax = smooth || p->head_sink != nullptr;
  return Status::OK();
}

}  // namespace

Result<GqaProblem> ResolveGqa(const KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(RefuseUnsupported(ctx));
  GqaProblem p;
  PQ_RETURN_IF_ERROR(ResolveQkv(ctx, &p));
  PQ_RETURN_IF_ERROR(ResolveLengths(ctx, &p));
  PQ_RETURN_IF_ERROR(ResolveRotary(ctx, &p));
  PQ_RETURN_IF_ERROR(ResolveScores(ctx, &p));
  return p;
}

}  // namespace pq::exec
