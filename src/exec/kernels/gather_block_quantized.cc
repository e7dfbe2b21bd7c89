// com.microsoft GatherBlockQuantized (quantized embedding tables): a Gather
// of `data` along gather_axis whose elements are dequantized blockwise along
// quantize_axis, output = (code - zero_point) * scale, with one scale and
// zero point per block of block_size elements (the last block may be
// partial). Two data layouts, told apart by the type the model declares:
//
//   int4 / uint4 data: the logical shape; zero_points (optional, same type)
//     have the scales' shape; the default zero point is 0. The executor
//     holds these unpacked, one code per byte.
//   uint8 data with bits = 2, 4 or 8: codes packed along the last axis, the
//     first element in the LOW bits of each byte (as MatMulNBits):
//
//       bits 4:  byte j = | element 2j + 1 (bits 7..4) | element 2j (bits 3..0) |
//
//     The logical last dim is data.dim(-1) * 8 / bits; gather_axis must be 0
//     and quantize_axis the last axis. zero_points are uint8 packed the same
//     way along the scales' last axis, each row starting on a byte; the
//     default zero point is 2^(bits - 1).
//
// Indices may be negative (counting from the end); out-of-range indices are
// an error, as in onnxruntime 1.30.
#include <cstdint>
#include <string>
#include <vector>

#include "exec/kernel.h"
#include "exec/kernels/elementwise_util.h"

namespace pq::exec {
namespace {

// Returns the `bits`-wide code at index `j` of a low-bits-first buffer.
// REQUIRES: bits is 2, 4 or 8.
constexpr uint8_t LowFirstCode(const uint8_t* packed, int64_t j, int64_t bits) {
  return static_cast<uint8_t>((packed[(j * bits) / 8] >> ((j * bits) % 8)) & ((1u << bits) - 1u));
}
constexpr uint8_t kProbe[] = {0xA5, 0x3C};
static_assert(LowFirstCode(kProbe, 0, 4) == 0x5 && LowFirstCode(kProbe, 1, 4) == 0xA &&
                  LowFirstCode(kProbe, 3, 2) == 0x2 && LowFirstCode(kProbe, 1, 8) == 0x3C,
              "GatherBlockQuantized packs the first element of each byte in the low bits");

std::string Str(int64_t v) { return std::to_string(v); }

// How the data's codes are stored and blocked.
struct Layout {
  bool packed = false;  // uint8 data holding 8 / bits codes per byte
  int64_t bits = 4;
  bool is_signed = false;        // int4
  std::vector<int64_t> logical;  // the logical shape of data
  int64_t default_zero_point = 0;
  int64_t gather_axis = 0, quantize_axis = 0;
  int64_t block = 0;         // block_size
  int64_t blocks = 0;        // blocks along quantize_axis
  int64_t zp_row_bytes = 0;  // packed zero points: bytes per row
};

// Resolves the codes' storage from the declared (or held) type and `bits`.
Status ResolveCodes(const KernelContext& ctx, Layout* c) {
  const Tensor& data = ctx.input(0);
  int32_t declared = ctx.declared_dtype(0);
  if (declared == 0) declared = data.dtype() == kInt8 ? kInt4 : data.dtype();
  c->bits = ctx.Int("bits", 4);
  c->logical = data.shape();
  if (declared == kInt4 || declared == kUint4) {
    if (c->bits != 4) return ctx.Error("bits must be 4 for int4/uint4 data, got " + Str(c->bits));
    c->is_signed = declared == kInt4;
    return Status::OK();
  }
  if (declared != kUint8) {
    return ctx.Unsupported("data of type " + DataTypeName(declared) +
                           " is not supported (int4, uint4 and uint8 are)");
  }
  if (c->bits != 2 && c->bits != 4 && c->bits != 8) {
    return ctx.Error("bits must be 2, 4 or 8 for uint8 data, got " + Str(c->bits));
  }
  if (data.rank() < 2) return ctx.Error("uint8 data must have rank >= 2");
  c->packed = true;
  c->logical.back() *= 8 / c->bits;
  c->default_zero_point = int64_t{1} << (c->bits - 1);
  return Status::OK();
}

// Returns the code at logical flat index `f`.
int32_t CodeAt(const Tensor& data, const Layout& c, int64_t f) {
  if (!c.packed) {
    return c.is_signed ? data.data<int8_t>()[f] : data.data<uint8_t>()[f];
  }
  const int64_t cols = c.logical.back(), row_bytes = data.dim(data.rank() - 1);
  const int64_t row = f / cols, col = f % cols;
  return LowFirstCode(data.data<uint8_t>() + row * row_bytes, col, c.bits);
}

// Resolves the whole layout: codes, axes and blocks.
Status ResolveLayout(const KernelContext& ctx, Layout* c) {
  PQ_RETURN_IF_ERROR(ResolveCodes(ctx, c));
  const int64_t rank = static_cast<int64_t>(c->logical.size());
  const int64_t ga_attr = ctx.Int("gather_axis", 0), qa_attr = ctx.Int("quantize_axis", 1);
  c->gather_axis = ga_attr < 0 ? ga_attr + rank : ga_attr;
  c->quantize_axis = qa_attr < 0 ? qa_attr + rank : qa_attr;
  if (rank < 1 || c->gather_axis < 0 || c->gather_axis >= rank || c->quantize_axis < 0 ||
      c->quantize_axis >= rank) {
    return ctx.Error("gather_axis " + Str(ga_attr) + " and quantize_axis " + Str(qa_attr) +
                     " must be axes of data " + ShapeToString(ctx.input(0).shape()));
  }
  if (c->packed && (c->gather_axis != 0 || c->quantize_axis != rank - 1)) {
    return ctx.Error("uint8 data needs gather_axis 0 and quantize_axis the last axis");
  }
  c->block = ctx.Int("block_size", 128);
  if (c->block < 16 || c->block > (int64_t{1} << 30) || (c->block & (c->block - 1)) != 0) {
    return ctx.Error("block_size must be a power of two >= 16, got " + Str(c->block));
  }
  const int64_t q_dim = c->logical[static_cast<size_t>(c->quantize_axis)];
  c->blocks = (q_dim + c->block - 1) / c->block;
  c->zp_row_bytes = (c->blocks * c->bits + 7) / 8;
  return Status::OK();
}

// Errors unless scales (and zero_points, if given) fit the layout.
Status CheckParams(const KernelContext& ctx, const Layout& c) {
  const Tensor& scales = ctx.input(2);
  if (scales.dtype() != kFloat) return ctx.Error("scales must be float or float16");
  std::vector<int64_t> scale_shape = c.logical;
  scale_shape[static_cast<size_t>(c.quantize_axis)] = c.blocks;
  if (scales.shape() != scale_shape) {
    return ctx.Error("scales have shape " + ShapeToString(scales.shape()) + ", expected " +
                     ShapeToString(scale_shape) + " (data " + ShapeToString(c.logical) +
                     " in blocks of " + Str(c.block) + " along axis " + Str(c.quantize_axis) + ")");
  }
  if (!ctx.has_input(3)) return Status::OK();
  const Tensor& zp = ctx.input(3);
  std::vector<int64_t> zp_shape = scale_shape;
  if (c.packed) zp_shape.back() = c.zp_row_bytes;
  const int32_t want = c.packed ? kUint8 : ctx.input(0).dtype();
  const int32_t zp_declared = ctx.declared_dtype(3), data_declared = ctx.declared_dtype(0);
  const bool same_declared = zp_declared == 0 || data_declared == 0 || zp_declared == data_declared;
  if (zp.dtype() != want || !same_declared || zp.shape() != zp_shape) {
    return ctx.Error("zero_points " + DataTypeName(zp.dtype()) + " " + ShapeToString(zp.shape()) +
                     " must have data's type and shape " + ShapeToString(zp_shape));
  }
  return Status::OK();
}

// Inputs data, indices, scales, zero_points (optional); attributes
// gather_axis (default 0), quantize_axis (default 1), block_size (default
// 128, a power of two >= 16), bits (default 4).
Status GatherBlockQuantized(KernelContext& ctx) {
  PQ_RETURN_IF_ERROR(ctx.CheckMaxOutputs(1));
  for (int i = 0; i < 3; ++i) {
    if (!ctx.has_input(i)) {
      return ctx.Error("required input " + Str(i) + " is missing or unreadable");
    }
  }
  if (ctx.node().input_size() > 3 && !ctx.node().input(3).empty() && !ctx.has_input(3)) {
    return ctx.Unsupported("zero_points has a data type the executor does not compute with");
  }
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  Layout c;
  PQ_RETURN_IF_ERROR(ResolveLayout(ctx, &c));
  PQ_RETURN_IF_ERROR(CheckParams(ctx, c));
  if (indices.dtype() != kInt64 && indices.dtype() != kInt32) {
    return ctx.Error("indices must be int32 or int64, got " + DataTypeName(indices.dtype()));
  }
  const int64_t rank = data.rank(), ga = c.gather_axis, qa = c.quantize_axis;
  const int64_t block = c.block, blocks = c.blocks;
  const int64_t q_dim = c.logical[static_cast<size_t>(qa)];
  const Tensor* zp = ctx.has_input(3) ? &ctx.input(3) : nullptr;
  // Output: data's logical shape with the gather axis replaced by indices'.
  std::vector<int64_t> out_shape(c.logical.begin(), c.logical.begin() + ga);
  out_shape.insert(out_shape.end(), indices.shape().begin(), indices.shape().end());
  out_shape.insert(out_shape.end(), c.logical.begin() + ga + 1, c.logical.end());
  const int64_t gathered = c.logical[static_cast<size_t>(ga)];
  int64_t outer = 1, inner = 1, q_inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < ga) outer *= c.logical[static_cast<size_t>(d)];
    if (d > ga) inner *= c.logical[static_cast<size_t>(d)];
    if (d > qa) q_inner *= c.logical[static_cast<size_t>(d)];
  }
  std::vector<int64_t> rows(static_cast<size_t>(indices.size()));
  for (int64_t i = 0; i < indices.size(); ++i) {
    const int64_t v =
        indices.dtype() == kInt64 ? indices.data<int64_t>()[i] : indices.data<int32_t>()[i];
    if (v < -gathered || v >= gathered) {
      return ctx.Error("index " + Str(v) + " is out of range [" + Str(-gathered) + ", " +
                       Str(gathered - 1) + "]");
    }
    rows[static_cast<size_t>(i)] = v < 0 ? v + gathered : v;
  }
  Result<Tensor> out = ctx.AllocateUninitialized(kFloat, out_shape);
  if (!out.ok()) return out.status();
  float* py = out->data<float>();
  const float* ps = ctx.input(2).data<float>();
  const int64_t n_idx = indices.size();
  const int threads = out->size() >= kElementwiseMinParallel ? ctx.threads() : 1;
  ParallelFor(outer * n_idx, threads, [&](int64_t task) {
    const int64_t o = task / n_idx, row = rows[static_cast<size_t>(task % n_idx)];
    for (int64_t e = 0; e < inner; ++e) {
      const int64_t f = (o * gathered + row) * inner + e;  // logical flat index in data
      const int64_t x = f / (q_dim * q_inner), y = (f / q_inner) % q_dim, z = f % q_inner;
      const int64_t s = (x * blocks + y / block) * q_inner + z;  // flat index in scales
      int64_t zero = c.default_zero_point;
      if (zp != nullptr && c.packed) {
        zero = LowFirstCode(zp->data<uint8_t>() + x * c.zp_row_bytes, y / block, c.bits);
      } else if (zp != nullptr) {
        zero = c.is_signed ? zp->data<int8_t>()[s] : zp->data<uint8_t>()[s];
      }
      py[task * inner + e] = static_cast<float>(CodeAt(data, c, f) - zero) * ps[s];
    }
  });
  ctx.set_output(0, std::move(out).value());
  return Status::OK();
}

}  // namespace

const std::vector<KernelDef>& GatherBlockQuantizedKernels() {
  static const std::vector<KernelDef> kKernels = {
      {"GatherBlockQuantized", "com.microsoft", 1, 0, GatherBlockQuantized},
  };
  return kKernels;
}

}  // namespace pq::exec
