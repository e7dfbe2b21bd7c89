// The inputs of com.microsoft GroupQueryAttention, checked and resolved into
// one value the kernel (group_query_attention.cc) computes from.
#ifndef PQ_EXEC_KERNELS_GQA_INPUTS_H_
#define PQ_EXEC_KERNELS_GQA_INPUTS_H_

#include <cstdint>
#include <vector>

#include "exec/kernel.h"

namespace pq::exec {

// Input indices of GroupQueryAttention (onnxruntime's contrib schema).
enum GqaInput : int {
  kGqaQuery = 0,
  kGqaKey = 1,
  kGqaValue = 2,
  kGqaPastKey = 3,
  kGqaPastValue = 4,
  kGqaSeqlensK = 5,
  kGqaTotalSequenceLength = 6,
  kGqaCosCache = 7,
  kGqaSinCache = 8,
  kGqaPositionIds = 9,
  kGqaAttentionBias = 10,
  kGqaHeadSink = 11,
};

// One GroupQueryAttention call. Tokens are [B, S]; query heads N, key/value
// heads Nkv (query head h reads key/value head h / (N / Nkv)); H per head.
// The present buffers are [B, Nkv, T, H] with T = max(total, P).
//
// Batch row b holds valid[b] = seqlens_k[b] + 1 keys after this call:
// past[b] keys from past_key (none on the first prompt, when S == total, or
// without past buffers), then the S new keys at rows past[b] .. valid[b] - 1
// (on a right-padded first prompt, rows past valid[b] hold the padding's
// keys). Query s of row b attends keys [start, end) with
// end = min(past[b] + s + 1, valid[b]) and start = end - window when a
// window is set and end > window, else 0.
struct GqaProblem {
  int64_t batch = 0, seq = 0, heads = 0, kv_heads = 0, head_size = 0;
  int64_t past_len = 0;     // P: rows of past_key / past_value (0 without them)
  int64_t present_len = 0;  // T
  int64_t total = 0;        // total_sequence_length
  bool first_prompt = false;
  std::vector<int64_t> valid;  // per batch row
  std::vector<int64_t> past;   // per batch row

  // Query, key and value rows: token t = b * S + s, head n starts at
  // q + t * q_row + n * H (k, v alike with kv_row; packed QKV shares rows).
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  int64_t q_row = 0, kv_row = 0;
  const float* past_key = nullptr;  // [B, Nkv, P, H] or null
  const float* past_value = nullptr;

  // Rotary (do_rotary): token (b, s) uses cache row positions[b * S + s].
  int64_t rotary_dim = 0;  // 0 = no rotary
  bool rotary_interleaved = false;
  const float* cos = nullptr;  // [rows, rotary_dim / 2]
  const float* sin = nullptr;
  std::vector<int64_t> positions;

  float scale = 0;     // applied to q.k
  float softcap = 0;   // 0 = none, else x -> softcap * tanh(x / softcap)
  int64_t window = 0;  // keys attended per query; 0 = all (local_window_size -1)
  // attention_bias [B|1, N|1, S, total]: added to row (b, n, s), column j
  // (a key position) after softcap, at
  // bias + b * bias_batch + n * bias_head + s * total + j.
  const float* bias = nullptr;
  int64_t bias_batch = 0, bias_head = 0;
  // Softmax with an extra logit in the denominator: head_sink[n], or 0 for
  // smooth_softmax; none when !sink_softmax.
  bool sink_softmax = false;
  const float* head_sink = nullptr;  // [N] or null (then 0)
};

// Checks the node's inputs and attributes and resolves them. Errors name the
// node and what was expected; unsupported features (quantized KV cache,
// qk_output, causal = 0, ...) are refused as kNotSupported.
Result<GqaProblem> ResolveGqa(const KernelContext& ctx);

}  // namespace pq::exec

#endif  // PQ_EXEC_KERNELS_GQA_INPUTS_H_
