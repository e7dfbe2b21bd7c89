// RotaryEmbedding kernels of pq's executor (RoPE, see rotary.h):
//
//   com.microsoft RotaryEmbedding (opset 1): inputs input, position_ids,
//     cos_cache, sin_cache; attributes interleaved, num_heads,
//     rotary_embedding_dim, scale (unused: it only scales caches the op
//     would build), is_packed_batching (1 is not supported).
//   ai.onnx RotaryEmbedding (opset 23): inputs X, cos_cache, sin_cache,
//     position_ids (optional); attributes interleaved, num_heads,
//     rotary_embedding_dim.
//
// The input is [B, S, N * H] (heads from num_heads, or for the contrib op
// without rotary_embedding_dim from H = 2 * cos_cache.dim(1)) or
// [B, N, S, H]. Token (b, s) reads cache row position_ids[b, s]; a
// one-element position_ids (contrib only) gives row position_ids + s; the
// opset-23 op without position_ids reads caches of shape [B, S, R / 2] at
// (b, s). The first R = rotary_embedding_dim (default H) values of each head
// rotate; the rest are copied.
#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_util.h"
#include "exec/kernels/rotary.h"

namespace pq::exec {
namespace {

// Where each head vector of the input lives, and which cache row it reads.
struct RotaryJob {
  int64_t batch = 0, seq = 0, heads = 0, head_size = 0, rotary_dim = 0;
  int64_t batch_stride = 0, seq_stride = 0, head_stride = 0;
  bool interleaved = false;
  // Cache row of token (b, s): positions[b * seq + s] when set, else
  // first_position + s when per_token_cache is false, else b * seq + s.
  const int64_t* positions = nullptr;
  int64_t first_position = 0;
  bool per_token_cache = false;
};

std::string Str(int64_t v) { return std::to_string(v); }

// Errors unless input `i` (`what`) is float.
Status CheckFloatInput(const KernelContext& ctx, int i, const char* what) {
  if (!ctx.has_input(i)) return ctx.Error(std::string("required input '") + what + "' is missing");
  if (ctx.input(i).dtype() != kFloat) {
    return ctx.Unsupported(std::string("input '") + what + "' of type " +
                           DataTypeName(ctx.input(i).dtype()) + " is not supported (float is)");
  }
  return Status::OK();
}

// Fills the head layout of `x` ([B, S, hidden] or [B, N, S, H]) into `job`,
// given `num_heads` (0 = unknown) and `head_size` for rank 3 (0 = from
// num_heads).
Status Layout(const KernelContext& ctx, const Tensor& x, int64_t num_heads, int64_t head_size,
              RotaryJob* job) {
  if (x.rank() == 4) {
    if (num_heads > 0 && num_heads != x.dim(1)) {
      return ctx.Error("num_heads = " + Str(num_heads) + " but input " + ShapeToString(x.shape()) +
                       " has " + Str(x.dim(1)) + " heads ([batch, heads, sequence, head_size])");
    }
    job->batch = x.dim(0), job->heads = x.dim(1), job->seq = x.dim(2), job->head_size = x.dim(3);
    job->seq_stride = job->head_size;
    job->head_stride = job->seq * job->head_size;
  } else if (x.rank() == 3) {
    const int64_t hidden = x.dim(2);
    if (head_size == 0) {
      if (num_heads <= 0) return ctx.Error("a 3-D input needs the num_heads attribute");
      if (hidden % num_heads != 0) {
        return ctx.Error("hidden size " + Str(hidden) + " is not a multiple of num_heads " +
                         Str(num_heads));
      }
      head_size = hidden / num_heads;
    }
    if (head_size <= 0 || hidden % head_size != 0 ||
        (num_heads > 0 && num_heads * head_size != hidden)) {
      return ctx.Error("input " + ShapeToString(x.shape()) + " does not split into heads of " +
                       Str(head_size) +
                       (num_heads > 0 ? " (num_heads " + Str(num_heads) + ")" : ""));
    }
    job->batch = x.dim(0), job->seq = x.dim(1), job->head_size = head_size;
    job->heads = hidden / head_size;
    job->head_stride = head_size;
    job->seq_stride = hidden;
  } else {
    return ctx.Error("input has shape " + ShapeToString(x.shape()) +
                     ", expected [batch, sequence, hidden] or [batch, heads, sequence, head_size]");
  }
  job->batch_stride = job->heads * job->seq * job->head_size;
  return Status::OK();
}

// Sets job->rotary_dim from the attribute (0 = head size) and checks it
// against the cache width `half` (cos_cache's last dim).
Status RotaryDim(const KernelContext& ctx, int64_t half, RotaryJob* job) {
  const int64_t attr = ctx.Int("rotary_embedding_dim", 0);
  job->rotary_dim = attr > 0 ? attr : job->head_size;
  if (attr < 0 || job->rotary_dim % 2 != 0 || job->rotary_dim > job->head_size) {
    return ctx.Error("rotary_embedding_dim " + Str(job->rotary_dim) +
                     " must be even and at most the head size " + Str(job->head_size));
  }
  if (half * 2 != job->rotary_dim) {
    return ctx.Error("cos_cache/sin_cache rows hold " + Str(half) + " values, expected " +
                     "rotary_embedding_dim / 2 = " + Str(job->rotary_dim / 2));
  }
  return Status::OK();
}

// Errors unless cos and sin are float with the same shape of rank `rank`.
Status CheckCaches(const KernelContext& ctx, int cos_i, int sin_i, int64_t rank) {
  PQ_RETURN_IF_ERROR(CheckFloatInput(ctx, cos_i, "cos_cache"));
  PQ_RETURN_IF_ERROR(CheckFloatInput(ctx, sin_i, "sin_cache"));
  const Tensor& cos = ctx.input(cos_i);
  if (cos.rank() != rank || cos.shape() != ctx.input(sin_i).shape()) {
    return ctx.Error("cos_cache " + ShapeToString(cos.shape()) + " and sin_cache " +
                     ShapeToString(ctx.input(sin_i).shape()) + " must have the same rank-" +
                     Str(rank) + " shape");
  }
  return Status::OK();
}

// Errors unless every cache row the job reads is in [0, rows).
Status CheckRows(const KernelContext& ctx, const RotaryJob& job, int64_t rows) {
  for (int64_t t = 0; t < job.batch * job.seq; ++t) {
    const int64_t row = job.positions != nullptr ? job.positions[t]
                        : job.per_token_cache    ? t
                                                 : job.first_position + t % job.seq;
    if (row < 0 || row >= rows) {
      return ctx.Error("position " + Str(row) + " (token " + Str(t) +
                       ") is outside the cos/sin caches of " + Str(rows) + " rows");
    }
  }
  return Status::OK();
}

// Runs the job from x into a new output of x's shape.
Status Run(KernelContext& ctx, const Tensor& x, const Tensor& cos, const Tensor& sin,
           const RotaryJob& job) {
  Result<Tensor> y = ctx.AllocateUninitialized(kFloat, x.shape());
  if (!y.ok()) return y.status();
  const int64_t half = job.rotary_dim / 2;
  const float* px = x.data<float>();
  float* py = y->data<float>();
  ParallelFor(job.batch * job.seq * job.heads, ctx.threads(), [&](int64_t i) {
    const int64_t n = i % job.heads, t = i / job.heads, b = t / job.seq, s = t % job.seq;
    const int64_t row = job.positions != nullptr ? job.positions[t]
                        : job.per_token_cache    ? t
                                                 : job.first_position + s;
    const int64_t at = b * job.batch_stride + s * job.seq_stride + n * job.head_stride;
    RotateHead(px + at, cos.data<float>() + row * half, sin.data<float>() + row * half,
               job.rotary_dim, job.head_size, job.interleaved, py + at);
  });
  ctx.set_output(0, std::move(y).value());
  return Status::OK();
}

// Errors unless `positions` is int64 [B, S]; then points the job at it.
Status TokenPositions(const KernelContext& ctx, const Tensor& positions, RotaryJob* job) {
  if (positions.dtype() != kInt64 || positions.rank() != 2 || positions.dim(0) != job->batch ||
      positions.dim(1) != job->seq) {
    return ctx.Error("position_ids " + DataTypeName(positions.dtype()) + " " +
                     ShapeToString(positions.shape()) + " must be int64 [batch, sequence] = [" +
                     Str(job->batch) + ", " + Str(job->seq) + "]");
  }
  job->positions = positions.data<int64_t>();
  return Status::OK();
}

Status ContribRotaryEmbedding(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(1));
  PQ_RETURN_IF_ERROR(CheckFloatInput(ctx, 0, "input"));
  if (!ctx.has_input(1)) return ctx.Error("required input 'position_ids' is missing");
  PQ_RETURN_IF_ERROR(CheckCaches(ctx, 2, 3, 2));
  if (ctx.Int("is_packed_batching", 0) != 0) {
    return ctx.Unsupported("is_packed_batching = 1 (ragged batches) is not supported");
  }
  const Tensor& x = ctx.input(0);
  const Tensor& cos = ctx.input(2);
  const int64_t num_heads = ctx.Int("num_heads", 0);
  const int64_t rotary_attr = ctx.Int("rotary_embedding_dim", 0);
  if (rotary_attr > 0 && num_heads <= 0) {
    return ctx.Error("num_heads must be given with rotary_embedding_dim");
  }
  RotaryJob job;
  job.interleaved = ctx.Int("interleaved", 0) != 0;
  // Without rotary_embedding_dim, a 3-D input has heads of 2 * cache width.
  const int64_t head_size = rotary_attr == 0 && num_heads <= 0 ? 2 * cos.dim(1) : 0;
  PQ_RETURN_IF_ERROR(Layout(ctx, x, num_heads, head_size, &job));
  PQ_RETURN_IF_ERROR(RotaryDim(ctx, cos.dim(1), &job));
  const Tensor& positions = ctx.input(1);
  if (positions.size() == 1 && positions.rank() <= 1) {
    if (positions.dtype() != kInt64) return ctx.Error("position_ids must be int64");
    job.first_position = positions.data<int64_t>()[0];
  } else {
    PQ_RETURN_IF_ERROR(TokenPositions(ctx, positions, &job));
  }
  PQ_RETURN_IF_ERROR(CheckRows(ctx, job, cos.dim(0)));
  return Run(ctx, x, cos, ctx.input(3), job);
}

Status OnnxRotaryEmbedding(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(1));
  PQ_RETURN_IF_ERROR(CheckFloatInput(ctx, 0, "X"));
  const bool has_positions = ctx.has_input(3);
  PQ_RETURN_IF_ERROR(CheckCaches(ctx, 1, 2, has_positions ? 2 : 3));
  const Tensor& x = ctx.input(0);
  const Tensor& cos = ctx.input(1);
  RotaryJob job;
  job.interleaved = ctx.Int("interleaved", 0) != 0;
  PQ_RETURN_IF_ERROR(Layout(ctx, x, ctx.Int("num_heads", 0), 0, &job));
  PQ_RETURN_IF_ERROR(RotaryDim(ctx, cos.dim(cos.rank() - 1), &job));
  if (has_positions) {
    PQ_RETURN_IF_ERROR(TokenPositions(ctx, ctx.input(3), &job));
    PQ_RETURN_IF_ERROR(CheckRows(ctx, job, cos.dim(0)));
  } else {
    if (cos.dim(0) != job.batch || cos.dim(1) != job.seq) {
      return ctx.Error("without position_ids, cos_cache " + ShapeToString(cos.shape()) +
                       " must be [batch, sequence, rotary_dim / 2] = [" + Str(job.batch) + ", " +
                       Str(job.seq) + ", " + Str(job.rotary_dim / 2) + "]");
    }
    job.per_token_cache = true;
  }
  return Run(ctx, x, cos, ctx.input(2), job);
}

}  // namespace

const std::vector<KernelDef>& RotaryEmbeddingKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"RotaryEmbedding", "com.microsoft", 1, 0, ContribRotaryEmbedding},
      {"RotaryEmbedding", "", 23, 0, OnnxRotaryEmbedding},
  };
  return kKernels;
}

}  // namespace pq::exec
