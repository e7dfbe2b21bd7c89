// com.microsoft GroupQueryAttention: causal self-attention with grouped
// key/value heads and a key/value cache, as onnxruntime-genai exports use it.
// gqa_inputs.h states the semantics; this file computes:
//
//   1. present_key / present_value [B, Nkv, T, H], zero-filled: per batch
//      row b, past rows [0, past[b]) copied from past_key / past_value, then
//      the S new keys (rotated when do_rotary) and values.
//   2. the rotated queries, [B, N, S, H].
//   With float16 inputs, the new (rotated) keys and the rotated queries are
//   rounded to float16 before the attention, as ONNX Runtime's float16 kernel
//   holds them (it computes the scores, softmax and P V in float).
//   3. per (b, n), with g = n / (N / Nkv): scores = scale * Q K^T over the
//      valid[b] keys of head g (Eigen GEMM), each query row s limited to its
//      causal window [start, end), softcapped, biased, and normalized by a
//      softmax (optionally with a sink logit); output[b, s, n] = P V. With
//      float16 inputs both products are summed in ONNX Runtime's order
//      (sgemm_ort_order.h) and the softmax is its own (softmax_ort_order.h),
//      as its float16 kernel computes them in float.
//
// Each (b, n) is one task with its own scratch, so results do not depend
// on the thread count.
#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "base/float16.h"
#include "exec/kernel.h"
#include "exec/kernels/gqa_inputs.h"
#include "exec/kernels/rotary.h"
#include "exec/kernels/sgemm_ort_order.h"
#include "exec/kernels/softmax_ort_order.h"

namespace pq::exec {
namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMap = Eigen::Map<const RowMatrix>;
using StridedMap = Eigen::Map<RowMatrix, 0, Eigen::OuterStride<>>;

// Calls with fewer multiply-adds than this run on the calling thread.
constexpr int64_t kMinParallelWork = int64_t{1} << 17;

// Copies (rotating when p.rotary_dim > 0) head vector `src` of token (b, s)
// to `dst`.
void PlaceHead(const GqaProblem& p, const float* src, int64_t b, int64_t s, float* dst) {
  if (p.rotary_dim == 0) {
    std::memcpy(dst, src, static_cast<size_t>(p.head_size) * sizeof(float));
    return;
  }
  const int64_t row = p.positions[static_cast<size_t>(b * p.seq + s)] * (p.rotary_dim / 2);
  RotateHead(src, p.cos + row, p.sin + row, p.rotary_dim, p.head_size, p.rotary_interleaved, dst);
}

// Fills the present buffers (zeroed by the caller) for kv head (b, g); with
// `half`, the new keys and values are rounded to float16.
void FillPresent(const GqaProblem& p, int64_t b, int64_t g, bool half, float* present_k,
                 float* present_v) {
  const int64_t h = p.head_size;
  const int64_t head = b * p.kv_heads + g;
  float* pk = present_k + head * p.present_len * h;
  float* pv = present_v + head * p.present_len * h;
  const int64_t past = p.past[static_cast<size_t>(b)];
  if (past > 0) {
    const size_t bytes = static_cast<size_t>(past * h) * sizeof(float);
    std::memcpy(pk, p.past_key + head * p.past_len * h, bytes);
    std::memcpy(pv, p.past_value + head * p.past_len * h, bytes);
  }
  for (int64_t s = 0; s < p.seq; ++s) {
    const int64_t token = b * p.seq + s;
    PlaceHead(p, p.k + token * p.kv_row + g * h, b, s, pk + (past + s) * h);
    std::memcpy(pv + (past + s) * h, p.v + token * p.kv_row + g * h,
                static_cast<size_t>(h) * sizeof(float));
  }
  if (half) {
    RoundToHalfInPlace(pk + past * h, p.seq * h);
    RoundToHalfInPlace(pv + past * h, p.seq * h);
  }
}

// Turns row[start, end) of raw scores into probabilities in place (softcap,
// bias, softmax with an optional sink logit) and zeroes the rest of
// row[0, width).
// With `half` (and no sink logit) the softmax is ONNX Runtime's
// (SoftmaxInOrtOrder).
void Normalize(const GqaProblem& p, const float* bias_row, float sink, bool half, float* row, int64_t start,
               int64_t end, int64_t width) {
  float max = p.sink_softmax ? sink : -std::numeric_limits<float>::infinity();
  for (int64_t j = start; j < end; ++j) {
    float x = row[j];
    if (p.softcap > 0.0f) x = p.softcap * std::tanh(x / p.softcap);
    if (bias_row != nullptr) x += bias_row[j];
    row[j] = x;
    max = std::max(max, x);
  }
  if (half && !p.sink_softmax) {
    SoftmaxInOrtOrder(row + start, end - start);
    for (int64_t j = 0; j < width; ++j) {
      if (j < start || j >= end) row[j] = 0.0f;
    }
    return;
  }
  float sum = p.sink_softmax ? std::exp(sink - max) : 0.0f;
  for (int64_t j = start; j < end; ++j) {
    row[j] = std::exp(row[j] - max);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < width; ++j) row[j] = (j >= start && j < end) ? row[j] * inv : 0.0f;
}

// Attention of query head n of batch row b; writes output[b, :, n, :].
// With `half`, both products are summed in ONNX Runtime's order.
void AttendHead(const GqaProblem& p, const float* queries, const float* present_k,
                const float* present_v, int64_t b, int64_t n, bool half, std::vector<float>* scratch,
                float* output) {
  const int64_t h = p.head_size, s_len = p.seq;
  const int64_t g = n / (p.heads / p.kv_heads);
  const int64_t valid = p.valid[static_cast<size_t>(b)], past = p.past[static_cast<size_t>(b)];
  const int64_t kv_offset = (b * p.kv_heads + g) * p.present_len * h;
  scratch->resize(static_cast<size_t>(s_len * valid + (half ? s_len * h : 0)));
  Eigen::Map<RowMatrix> scores(scratch->data(), s_len, valid);
  const float* q_rows = queries + (b * p.heads + n) * s_len * h;
  const ConstMap q(q_rows, s_len, h);
  const ConstMap k(present_k + kv_offset, valid, h);
  const ConstMap v(present_v + kv_offset, valid, h);
  if (half) {
    SgemmTransposedBInOrtOrder(s_len, valid, h, p.scale, q_rows, present_k + kv_offset, scratch->data());
  } else {
    scores.noalias() = (q * k.transpose()) * p.scale;
  }
  const float sink = p.head_sink != nullptr ? p.head_sink[n] : 0.0f;
  for (int64_t s = 0; s < s_len; ++s) {
    const int64_t end = std::min(past + s + 1, valid);
    const int64_t start = p.window > 0 && end > p.window ? end - p.window : 0;
    const float* bias_row =
        p.bias != nullptr ? p.bias + b * p.bias_batch + n * p.bias_head + s * p.total : nullptr;
    Normalize(p, bias_row, sink, half, scratch->data() + s * valid, start, end, valid);
  }
  StridedMap out(output + b * s_len * p.heads * h + n * h, s_len, h,
                 Eigen::OuterStride<>(p.heads * h));
  if (half) {
    float* pv_rows = scratch->data() + s_len * valid;
    SgemmInOrtOrder(s_len, h, valid, scratch->data(), present_v + kv_offset, pv_rows, OrtGemmB::kComputed, 1);
    out = Eigen::Map<RowMatrix>(pv_rows, s_len, h);
  } else {
    out.noalias() = scores * v;
  }
}

// Inputs query, key, value, past_key, past_value, seqlens_k,
// total_sequence_length, cos_cache, sin_cache, position_ids,
// attention_bias, head_sink; outputs output [B, S, N H], present_key,
// present_value.
Status GroupQueryAttention(KernelContext& ctx) {
  Result<GqaProblem> resolved = ResolveGqa(ctx);
  if (!resolved.ok()) return resolved.status();
  const GqaProblem& p = resolved.value();
  const int64_t h = p.head_size;
  const std::vector<int64_t> present_shape = {p.batch, p.kv_heads, p.present_len, h};
  Result<Tensor> present_k = ctx.Allocate(kFloat, present_shape);
  Result<Tensor> present_v = ctx.Allocate(kFloat, present_shape);
  Result<Tensor> queries = ctx.AllocateUninitialized(kFloat, {p.batch, p.heads, p.seq, h});
  Result<Tensor> output = ctx.AllocateUninitialized(kFloat, {p.batch, p.seq, p.heads * h});
  for (const Result<Tensor>* t : {&present_k, &present_v, &queries, &output}) {
    if (!t->ok()) return t->status();
  }
  float* pk = present_k->data<float>();
  float* pv = present_v->data<float>();
  float* pq = queries->data<float>();
  float* out = output->data<float>();
  const int threads = ctx.threads();
  const bool half = ctx.input_type(0) == kFloat16;
  const int64_t kv_tasks = p.batch * p.kv_heads, q_tasks = p.batch * p.heads;
  // Multiply-adds of the two products; small calls stay on one thread.
  const int64_t work = 2 * q_tasks * p.seq * p.present_len * h;
  const bool parallel = threads > 1 && q_tasks > 1 && work >= kMinParallelWork;
  // One parallel region; each loop ends in a barrier, so the attention loop
  // sees every present row and rotated query.
#pragma omp parallel num_threads(threads) if (parallel)
  {
#pragma omp for schedule(static)
    for (int64_t i = 0; i < kv_tasks; ++i) {
      FillPresent(p, i / p.kv_heads, i % p.kv_heads, half, pk, pv);
    }
#pragma omp for schedule(static)
    for (int64_t i = 0; i < q_tasks * p.seq; ++i) {
      const int64_t s = i % p.seq, n = (i / p.seq) % p.heads, b = i / (p.seq * p.heads);
      PlaceHead(p, p.q + (b * p.seq + s) * p.q_row + n * h, b, s, pq + i * h);
      if (half) RoundToHalfInPlace(pq + i * h, h);
    }
    std::vector<float> scratch;
#pragma omp for schedule(static)
    for (int64_t i = 0; i < q_tasks; ++i) {
      AttendHead(p, pq, pk, pv, i / p.heads, i % p.heads, half, &scratch, out);
    }
  }
  ctx.set_output(0, std::move(output).value());
  if (ctx.num_outputs() > 1) ctx.set_output(1, std::move(present_k).value());
  if (ctx.num_outputs() > 2) ctx.set_output(2, std::move(present_v).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& GroupQueryAttentionKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"GroupQueryAttention", "com.microsoft", 1, 0, GroupQueryAttention},
  };
  return kKernels;
}

}  // namespace pq::exec
