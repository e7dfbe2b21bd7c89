// ReadBlock of llama_blocks.h: one block's attention and SwiGLU MLP.
#include "gguf/llama_blocks.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace pq::gguf::internal {
namespace {

// How far (in nodes) the searches inside one block go: a written-out
// attention of a torch export has ~100 nodes per block.
constexpr size_t kBlockSearchLimit = 600;
// The attention scale is 1/sqrt(head_dim) up to float32 rounding.
constexpr double kScaleTolerance = 1e-3;

std::string Dims(int64_t rows, int64_t cols) {
  return "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]";
}

// The first node found breadth-first from `starts` along consumers for which
// `match` holds, not walking past weight MatMuls (they end the block part).
template <typename Match>
const onnx::NodeProto* ForwardFind(const GraphView& view, const std::vector<std::string>& starts,
                                   Match match) {
  std::deque<std::string> queue(starts.begin(), starts.end());
  std::set<const onnx::NodeProto*> seen;
  while (!queue.empty() && seen.size() < kBlockSearchLimit) {
    const std::string tensor = queue.front();
    queue.pop_front();
    for (const onnx::NodeProto* node : view.Consumers(tensor)) {
      if (!seen.insert(node).second) continue;
      if (match(*node)) return node;
      if (IsWeightMatMul(view, *node)) continue;
      for (const auto& out : node->output()) {
        if (!out.empty()) queue.push_back(out);
      }
    }
  }
  return nullptr;
}

// The first weight MatMul reached forward from `tensor`.
const onnx::NodeProto* NextWeightMatMul(const GraphView& view, const std::string& tensor) {
  return ForwardFind(view, {tensor},
                     [&](const onnx::NodeProto& node) { return IsWeightMatMul(view, node); });
}

// The first MatMul of two computed inputs found breadth-first backward from
// `tensor` within a few levels (the scores before mask and scale).
const onnx::NodeProto* ScoreMatMul(const GraphView& view, const std::string& tensor) {
  constexpr int kMaxLevels = 6;
  std::vector<std::string> level{tensor};
  for (int depth = 0; depth < kMaxLevels && !level.empty(); ++depth) {
    std::vector<std::string> next;
    for (const std::string& name : level) {
      const onnx::NodeProto* node = view.Producer(name);
      if (node == nullptr) continue;
      if (node->op_type() == "MatMul" && !IsWeightMatMul(view, *node)) return node;
      for (const auto& in : node->input()) {
        if (!in.empty()) next.push_back(in);
      }
    }
    level = std::move(next);
  }
  return nullptr;
}

// The one tensor of `stops` other than `boundary` that `start` is computed
// from, or "". The search does not go past `boundary` either.
std::string SourceAmong(const GraphView& view, const std::string& start,
                        std::set<std::string> stops, const std::string& boundary,
                        std::vector<const onnx::NodeProto*>* closure = nullptr) {
  std::set<std::string> reached;
  stops.insert(boundary);
  std::vector<const onnx::NodeProto*> nodes =
      BackwardClosure(view, start, stops, &reached, kBlockSearchLimit);
  reached.erase(boundary);
  if (closure) *closure = std::move(nodes);
  return reached.size() == 1 ? *reached.begin() : std::string();
}

// [heads, head_dim] from the Reshape of a projection's output to
// [batch, seq, heads, head_dim]: its last two shape entries, constants or
// Concat inputs. -1 in one of them is solved from `width`.
std::optional<std::pair<int64_t, int64_t>> HeadsFromReshape(const GraphView& view,
                                                            const std::string& tensor,
                                                            int64_t width) {
  for (const onnx::NodeProto* node : view.Consumers(tensor)) {
    if (node->op_type() != "Reshape" || node->input(0) != tensor) continue;
    std::vector<int64_t> tail;
    if (const std::optional<ConstantRef> ref = ResolveConstant(view, node->input(1))) {
      Result<std::vector<int64_t>> shape = ConstantInts(*ref->constant);
      if (shape.ok() && shape->size() == 4) tail = {(*shape)[2], (*shape)[3]};
    } else if (const onnx::NodeProto* concat = view.Producer(node->input(1));
               concat != nullptr && concat->op_type() == "Concat" && concat->input_size() == 4) {
      const std::optional<double> a = ScalarOf(view, concat->input(2));
      const std::optional<double> b = ScalarOf(view, concat->input(3));
      if (a && b) tail = {static_cast<int64_t>(*a), static_cast<int64_t>(*b)};
    }
    if (tail.size() != 2) continue;
    if (tail[0] == -1 && tail[1] > 0) tail[0] = width / tail[1];
    if (tail[1] == -1 && tail[0] > 0) tail[1] = width / tail[0];
    if (tail[0] > 0 && tail[1] > 0) return std::make_pair(tail[0], tail[1]);
  }
  return std::nullopt;
}

// head_dim from the attention scale applied to the scores: Div by sqrt(hd)
// or Mul by 1/sqrt(hd). nullopt when there is no such constant.
std::optional<int64_t> HeadDimFromScale(const GraphView& view, const onnx::NodeProto& score) {
  for (const onnx::NodeProto* node : view.Consumers(score.output(0))) {
    const std::string& other = node->input(0) == score.output(0) ? node->input(1) : node->input(0);
    const std::optional<double> c = ScalarOf(view, other);
    if (!c || *c <= 0) continue;
    double hd = 0;
    if (node->op_type() == "Div") hd = *c * *c;
    if (node->op_type() == "Mul") hd = 1.0 / (*c * *c);
    const double rounded = std::round(hd);
    if (rounded >= 1 && std::fabs(hd - rounded) <= kScaleTolerance * rounded) {
      return static_cast<int64_t>(rounded);
    }
  }
  return std::nullopt;
}

// The rows [begin, begin + count) of a packed projection.
Projection RowsOf(const Projection& packed, int64_t begin, int64_t count) {
  Projection p = packed;
  p.rows = count;
  p.values.assign(packed.values.begin() + begin * packed.cols,
                  packed.values.begin() + (begin + count) * packed.cols);
  return p;
}

// What the attention part of a block found before its weights are read.
struct AttentionShape {
  const onnx::NodeProto* q = nullptr;  // the projection(s); one node when packed
  const onnx::NodeProto* k = nullptr;
  const onnx::NodeProto* v = nullptr;
  bool packed = false;
  int64_t heads = 0;
  int64_t kv_heads = 0;
  int64_t head_dim = 0;        // 0: from the q width and heads
  RopeMatch rope;
  std::string context;         // the attention's output, before the o projection
};

// A fused com.microsoft attention node reading the projections.
Status ReadFusedAttention(const GraphView& view, const onnx::NodeProto& att, const std::string& where,
                          AttentionShape* shape) {
  const bool gqa = att.op_type() == "GroupQueryAttention";
  shape->heads = IntAttr(att, "num_heads", 0);
  shape->kv_heads = gqa ? IntAttr(att, "kv_num_heads", 0) : shape->heads;
  shape->context = att.output(0);
  const onnx::NodeProto* q = view.Producer(att.input(0));
  if (q == nullptr || !IsWeightMatMul(view, *q)) {
    return Status::NotSupported(where + ": the query of '" + NodeLabel(att) +
                                "' is not a projection MatMul");
  }
  shape->q = q;
  shape->packed = att.input_size() < 3 || att.input(1).empty();
  if (!shape->packed) {
    shape->k = view.Producer(att.input(1));
    shape->v = view.Producer(att.input(2));
    if (shape->k == nullptr || shape->v == nullptr || !IsWeightMatMul(view, *shape->k) ||
        !IsWeightMatMul(view, *shape->v)) {
      return Status::NotSupported(where + ": the key/value of '" + NodeLabel(att) +
                                  "' are not projection MatMuls");
    }
  }
  if (gqa && IntAttr(att, "do_rotary", 0) != 0) {
    const std::optional<ConstantRef> c = att.input_size() > 8 ? ResolveConstant(view, att.input(7))
                                                              : std::nullopt;
    const std::optional<ConstantRef> s = att.input_size() > 8 ? ResolveConstant(view, att.input(8))
                                                              : std::nullopt;
    if (!c || !s) {
      return Status::NotSupported(where + ": '" + NodeLabel(att) +
                                  "' rotates without constant cos_cache/sin_cache");
    }
    Result<RopeMatch> rope = RopeFromTables(*c->constant, *s->constant, true, where);
    if (!rope.ok()) return rope.status();
    shape->rope = *rope;
    shape->rope.half_split = IntAttr(att, "rotary_interleaved", 0) == 0;
    return Status::OK();
  }
  std::vector<const onnx::NodeProto*> closure =
      BackwardClosure(view, att.input(0), {q->output(0)}, nullptr, kBlockSearchLimit);
  Result<RopeMatch> rope = MatchRope(view, closure, where);
  if (!rope.ok()) return rope.status();
  shape->rope = *rope;
  return Status::OK();
}

// An attention written out as MatMul / Softmax / MatMul.
Status ReadWrittenAttention(const GraphView& view, const onnx::NodeProto& softmax,
                            const std::vector<const onnx::NodeProto*>& projections,
                            const NormMatch& norm, const std::string& where,
                            AttentionShape* shape) {
  const onnx::NodeProto* score = ScoreMatMul(view, softmax.input(0));
  const onnx::NodeProto* context = ForwardFind(view, {softmax.output(0)}, [](const auto& node) {
    return node.op_type() == "MatMul";
  });
  if (score == nullptr || context == nullptr) {
    return Status::NotSupported(where + ": no score/context MatMul around '" + NodeLabel(softmax) +
                                "'");
  }
  shape->context = context->output(0);
  std::set<std::string> stops;
  std::vector<std::string> parts;  // q, k, v tensors
  if (projections.size() == 1) {
    shape->packed = true;
    shape->q = projections[0];
    // Split (outputs in order) or Slices (ordered by their start).
    const std::string packed = projections[0]->output(0);
    std::vector<std::pair<int64_t, std::string>> slices;
    for (const onnx::NodeProto* node : view.Consumers(packed)) {
      if (node->op_type() == "Split" && node->output_size() == 3) {
        parts = {node->output(0), node->output(1), node->output(2)};
      } else if (node->op_type() == "Slice" && node->input_size() >= 3) {
        const std::optional<double> start = ScalarOf(view, node->input(1));
        if (start) slices.emplace_back(static_cast<int64_t>(*start), node->output(0));
      }
    }
    if (parts.empty() && slices.size() == 3) {
      std::sort(slices.begin(), slices.end());
      for (const auto& slice : slices) parts.push_back(slice.second);
    }
    if (parts.size() != 3) {
      return Status::NotSupported(where + ": packed projection '" + NodeLabel(*projections[0]) +
                                  "' is not split into q, k and v by a Split or three Slices");
    }
  } else {
    for (const onnx::NodeProto* p : projections) parts.push_back(p->output(0));
  }
  stops.insert(parts.begin(), parts.end());
  std::vector<const onnx::NodeProto*> q_closure;
  const std::string q = SourceAmong(view, score->input(0), stops, norm.output, &q_closure);
  const std::string k = SourceAmong(view, score->input(1), stops, norm.output);
  const std::string v = SourceAmong(view, context->input(1), stops, norm.output);
  if (q.empty() || k.empty() || v.empty()) {
    return Status::NotSupported(where + ": the query, key and value of '" + NodeLabel(*score) +
                                "' do not each come from one projection");
  }
  if (shape->packed) {
    if (q != parts[0] || k != parts[1] || v != parts[2]) {
      return Status::NotSupported(where + ": packed projection '" + NodeLabel(*shape->q) +
                                  "' is not split in the order q, k, v");
    }
  } else {
    shape->q = view.Producer(q);
    shape->k = view.Producer(k);
    shape->v = view.Producer(v);
  }
  Result<RopeMatch> rope = MatchRope(view, q_closure, where);
  if (!rope.ok()) return rope.status();
  shape->rope = *rope;
  // heads and head_dim from the Reshapes to [batch, seq, heads, head_dim].
  const auto q_heads = HeadsFromReshape(view, q, 0);
  const auto k_heads = HeadsFromReshape(view, k, 0);
  if (q_heads && k_heads && q_heads->second == k_heads->second) {
    shape->heads = q_heads->first;
    shape->kv_heads = k_heads->first;
    shape->head_dim = q_heads->second;
    return Status::OK();
  }
  const std::optional<int64_t> head_dim = HeadDimFromScale(view, *score);
  if (!head_dim || shape->packed) {
    return Status::NotSupported(where + ": no Reshape to heads after the q/k projections and no " +
                                "attention scale after '" + NodeLabel(*score) + "'");
  }
  shape->head_dim = *head_dim;
  return Status::OK();
}

// Fills hparams from the first block or checks later blocks against it.
Status AgreeOn(const char* what, int64_t value, int64_t* field, bool first, const std::string& where) {
  if (first) {
    *field = value;
    return Status::OK();
  }
  if (*field != value) {
    return Status::InvalidInput(where + ": " + what + " is " + std::to_string(value) +
                                ", block 0 has " + std::to_string(*field));
  }
  return Status::OK();
}

Status CheckMatrix(const Projection& p, const char* what, int64_t rows, int64_t cols,
                   const std::string& where) {
  if (p.rows == rows && p.cols == cols) return Status::OK();
  return Status::InvalidInput(where + ": " + what + " weight '" + p.source + "' is " +
                              Dims(p.rows, p.cols) + " (out, in), expected " + Dims(rows, cols));
}

// Finds the attention fed by the q/k/v projections of `attn_norm` (a Softmax
// or a com.microsoft GroupQueryAttention / MultiHeadAttention) and fills
// `shape` from it. Errors: kNotSupported naming what was not found.
Status FindAttention(const GraphView& view, const NormMatch& attn_norm, const std::string& where,
                     AttentionShape* shape) {
  const std::vector<const onnx::NodeProto*> projections = WeightMatMulsOf(view, attn_norm.output);
  if (projections.empty()) {
    return Status::NotSupported(where + ": the norm '" + NodeLabel(*attn_norm.last) +
                                "' feeds no q/k/v projection MatMul");
  }
  std::vector<std::string> starts;
  for (const onnx::NodeProto* p : projections) starts.push_back(p->output(0));
  const onnx::NodeProto* att = ForwardFind(view, starts, [](const onnx::NodeProto& node) {
    return node.op_type() == "Softmax" ||
           (node.domain() == "com.microsoft" && (node.op_type() == "GroupQueryAttention" ||
                                                 node.op_type() == "MultiHeadAttention"));
  });
  if (att == nullptr) {
    return Status::NotSupported(where + ": no attention (Softmax or GroupQueryAttention) after " +
                                "the projections of norm '" + NodeLabel(*attn_norm.last) + "'");
  }
  return att->op_type() == "Softmax"
             ? ReadWrittenAttention(view, *att, projections, attn_norm, where, shape)
             : ReadFusedAttention(view, *att, where, shape);
}

// Reads the q, k and v weights of `shape` into `block` (rows split when
// packed) and completes heads, kv_heads and head_dim of `shape` from their
// widths where the graph left them 0. Errors: those of ReadProjection;
// kInvalidInput when a packed projection's rows do not divide.
Status ReadQkv(const GraphView& view, const std::string& where, AttentionShape* shape,
               BlockWeights* block) {
  Result<Projection> q = ReadProjection(view, *shape->q);
  if (!q.ok()) return q.status();
  if (shape->packed) {
    if (shape->heads <= 0 || shape->kv_heads <= 0 ||
        q->rows % (shape->heads + 2 * shape->kv_heads) != 0) {
      return Status::InvalidInput(where + ": packed projection '" + NodeLabel(*shape->q) +
                                  "' has " + std::to_string(q->rows) +
                                  " rows, not (heads + 2 kv_heads) * " + "head_dim");
    }
    const int64_t hd = q->rows / (shape->heads + 2 * shape->kv_heads);
    if (shape->head_dim == 0) shape->head_dim = hd;
    block->q = RowsOf(*q, 0, shape->heads * hd);
    block->k = RowsOf(*q, shape->heads * hd, shape->kv_heads * hd);
    block->v = RowsOf(*q, (shape->heads + shape->kv_heads) * hd, shape->kv_heads * hd);
    return Status::OK();
  }
  block->q = std::move(*q);
  Result<Projection> k = ReadProjection(view, *shape->k);
  if (!k.ok()) return k.status();
  Result<Projection> v = ReadProjection(view, *shape->v);
  if (!v.ok()) return v.status();
  block->k = std::move(*k);
  block->v = std::move(*v);
  if (shape->head_dim == 0 && shape->heads > 0) shape->head_dim = block->q.rows / shape->heads;
  if (shape->heads == 0 && shape->head_dim > 0) {  // from the attention scale
    shape->heads = block->q.rows / shape->head_dim;
    shape->kv_heads = block->k.rows / shape->head_dim;
  }
  return Status::OK();
}

// Checks that `shape` forms a decoder, then sets (`first` block) or checks
// heads, kv_heads, head_dim and the rope fields of `hparams`, then checks the
// rotary dims fit head_dim. Errors: kInvalidInput.
Status AgreeOnAttention(const AttentionShape& shape, bool first, const std::string& where,
                        LlamaHyperParams* hparams) {
  if (shape.heads <= 0 || shape.kv_heads <= 0 || shape.head_dim <= 0 ||
      shape.heads % shape.kv_heads != 0) {
    return Status::InvalidInput(where + ": heads " + std::to_string(shape.heads) + ", kv_heads " +
                                std::to_string(shape.kv_heads) + " and head_dim " +
                                std::to_string(shape.head_dim) + " do not form a decoder");
  }
  PQ_RETURN_IF_ERROR(AgreeOn("heads", shape.heads, &hparams->heads, first, where));
  PQ_RETURN_IF_ERROR(AgreeOn("kv_heads", shape.kv_heads, &hparams->kv_heads, first, where));
  PQ_RETURN_IF_ERROR(AgreeOn("head_dim", shape.head_dim, &hparams->head_dim, first, where));
  PQ_RETURN_IF_ERROR(AgreeOn("rope_dims", shape.rope.rope_dims, &hparams->rope_dims, first, where));
  PQ_RETURN_IF_ERROR(AgreeOn("context_length", shape.rope.context_length,
                             &hparams->context_length, first, where));
  if (first) {
    hparams->rope_base = shape.rope.base;
    hparams->rope_half_split = shape.rope.half_split;
  } else if (hparams->rope_base != shape.rope.base ||
             hparams->rope_half_split != shape.rope.half_split) {
    return Status::InvalidInput(where + ": rotary base or convention differs from block 0");
  }
  if (shape.rope.rope_dims > shape.head_dim || shape.rope.rope_dims % 2 != 0) {
    return Status::InvalidInput(where + ": rotary dims " + std::to_string(shape.rope.rope_dims) +
                                " do not fit head_dim " + std::to_string(shape.head_dim));
  }
  return Status::OK();
}

// Checks block->q/k/v against `shape` and an embedding width `embd`, then
// reads the output projection after the attention into block->o and checks
// it. On success `*o` is that MatMul. Errors: kInvalidInput for a wrong
// shape; kNotSupported when there is no output projection.
Status ReadOutputProjection(const GraphView& view, const AttentionShape& shape, int64_t embd,
                            const std::string& where, BlockWeights* block,
                            const onnx::NodeProto** o) {
  const int64_t hd = shape.head_dim;
  PQ_RETURN_IF_ERROR(CheckMatrix(block->q, "q", shape.heads * hd, embd, where));
  PQ_RETURN_IF_ERROR(CheckMatrix(block->k, "k", shape.kv_heads * hd, embd, where));
  PQ_RETURN_IF_ERROR(CheckMatrix(block->v, "v", shape.kv_heads * hd, embd, where));
  *o = NextWeightMatMul(view, shape.context);
  if (*o == nullptr) {
    return Status::NotSupported(where + ": no output projection after the attention");
  }
  Result<Projection> o_weight = ReadProjection(view, **o);
  if (!o_weight.ok()) return o_weight.status();
  block->o = std::move(*o_weight);
  return CheckMatrix(block->o, "attention output", embd, shape.heads * hd, where);
}

// Reads the MLP after the output projection `o`: the norm, gate (the MatMul
// feeding a Sigmoid), up and down into `block`; sets (`first` block) or
// checks hparams->feed_forward. On success `*residual` / `*pending` are the
// stream before the MLP and the MLP output. Errors: kNotSupported naming what
// was not found; kInvalidInput for a wrong shape.
Status ReadMlp(const GraphView& view, const NormMatch& attn_norm, const onnx::NodeProto& o,
               bool first, int64_t embd, const std::string& where, LlamaHyperParams* hparams,
               BlockWeights* block, std::string* residual, std::string* pending) {
  std::optional<NormMatch> ffn_norm = MatchRmsNorm(view, attn_norm.residual, o.output(0));
  if (!ffn_norm) {
    return Status::NotSupported(where + ": no RMSNorm found before the MLP (after node '" +
                                NodeLabel(o) + "')");
  }
  block->ffn_norm = *ffn_norm;
  const std::vector<const onnx::NodeProto*> mlp = WeightMatMulsOf(view, ffn_norm->output);
  const onnx::NodeProto* gate = nullptr;
  const onnx::NodeProto* up = nullptr;
  for (const onnx::NodeProto* node : mlp) {
    const auto& users = view.Consumers(node->output(0));
    const bool sigmoid = std::any_of(users.begin(), users.end(), [](const onnx::NodeProto* n) {
      return n->op_type() == "Sigmoid";
    });
    (sigmoid ? gate : up) = node;
  }
  if (mlp.size() != 2 || gate == nullptr || up == nullptr) {
    return Status::NotSupported(where + ": no SwiGLU gate/up MatMul pair after the norm '" +
                                NodeLabel(*ffn_norm->last) + "'");
  }
  const onnx::NodeProto* down = NextWeightMatMul(view, up->output(0));
  if (down == nullptr || NextWeightMatMul(view, gate->output(0)) != down) {
    return Status::NotSupported(where + ": no down projection joining the gate and up MatMuls");
  }
  for (auto [node, target] :
       {std::pair{gate, &block->gate}, {up, &block->up}, {down, &block->down}}) {
    Result<Projection> p = ReadProjection(view, *node);
    if (!p.ok()) return p.status();
    *target = std::move(*p);
  }
  PQ_RETURN_IF_ERROR(
      AgreeOn("feed_forward", block->gate.rows, &hparams->feed_forward, first, where));
  const int64_t ff = hparams->feed_forward;
  PQ_RETURN_IF_ERROR(CheckMatrix(block->gate, "gate", ff, embd, where));
  PQ_RETURN_IF_ERROR(CheckMatrix(block->up, "up", ff, embd, where));
  PQ_RETURN_IF_ERROR(CheckMatrix(block->down, "down", embd, ff, where));
  *residual = ffn_norm->residual;
  *pending = down->output(0);
  return Status::OK();
}

}  // namespace

Result<BlockWeights> ReadBlock(const GraphView& view, const NormMatch& attn_norm,
                               const std::string& where, LlamaHyperParams* hparams,
                               std::string* residual, std::string* pending) {
  BlockWeights block;
  block.attn_norm = attn_norm;
  const bool first = hparams->heads == 0;
  const int64_t embd = hparams->embedding;
  AttentionShape shape;
  PQ_RETURN_IF_ERROR(FindAttention(view, attn_norm, where, &shape));
  PQ_RETURN_IF_ERROR(ReadQkv(view, where, &shape, &block));
  PQ_RETURN_IF_ERROR(AgreeOnAttention(shape, first, where, hparams));
  const onnx::NodeProto* o = nullptr;
  PQ_RETURN_IF_ERROR(ReadOutputProjection(view, shape, embd, where, &block, &o));
  PQ_RETURN_IF_ERROR(
      ReadMlp(view, attn_norm, *o, first, embd, where, hparams, &block, residual, pending));
  return block;
}

}  // namespace pq::gguf::internal
