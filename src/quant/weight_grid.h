// WeightGrid: the values a scheme can give a weight, as the rounding
// algorithms that choose grid values themselves (GPTQ, AWQ) see them. Every
// grid sees a weight as [n, k] row-major: n output features (rows), k input
// features (columns), whatever layout the scheme stores it in. The elements
// are cut into blocks; each block has its own parameters (BlockParams: a
// scale and a zero point) and each element takes one of the values its
// block's parameters allow. A scheme offers its grid through Scheme::Grid;
// the blockwise 4-bit schemes are their own grid (blocks along the rows of
// [N, K]), the int8 schemes offer a per-channel (one block per row) or
// per-tensor (one block) linear grid (linear_grid.h).
#ifndef PQ_QUANT_WEIGHT_GRID_H_
#define PQ_QUANT_WEIGHT_GRID_H_

#include <cstdint>
#include <vector>

#include "pq/status.h"
#include "quant/scheme.h"

namespace pq::quant {

class WeightGrid {
 public:
  virtual ~WeightGrid() = default;
  // The [n, k] view of `weight` (as the scheme is handed it): returns its
  // values, weight.data itself or a copy in `storage`, and sets n and k.
  // Default: weight.shape is [n, k] already.
  virtual const float* Rows(const WeightView& weight, int64_t* n, int64_t* k,
                            std::vector<float>* /*storage*/) const {
    *n = weight.shape.size() == 2 ? weight.shape[0] : 0;
    *k = weight.shape.size() == 2 ? weight.shape[1] : 0;
    return weight.data;
  }
  // The number of blocks of an [n, k] weight, and the block that element
  // (r, c) lies in.
  virtual int64_t BlockCount(int64_t n, int64_t k) const = 0;
  virtual int64_t BlockOf(int64_t r, int64_t c, int64_t k) const = 0;
  // When the blocks follow the rows, the columns of a row each block holds
  // (block b of row r holds columns [b * L, min(k, (b + 1) * L)) and is
  // numbered r * ceil(k / L) + b); 0 when they do not (blocks of the
  // flattened weight, or one block for the whole weight).
  virtual int64_t RowBlockLength(int64_t k) const = 0;
  // The parameters round-to-nearest gives a block of `count` finite values
  // (a block that follows a row).
  virtual BlockParams FitBlock(const float* w, int64_t count) const = 0;
  // The parameters of every block of the finite [n, k] weight `w`, in block
  // order: those round-to-nearest uses.
  virtual std::vector<BlockParams> FitBlocks(const float* w, int64_t n, int64_t k) const = 0;
  // The grid value nearest to `w` in a block of `params`: what the written
  // model reads back for it.
  virtual float RoundToGrid(float w, const BlockParams& params) const = 0;
  // Quantizes `weight` (as the scheme is handed it) with the given
  // parameters (BlockCount of them): each of `values` (the [n, k] values to
  // code, e.g. already on the grid) is coded as RoundToGrid codes it, and the
  // error is measured against weight.data. `dequantized` (may be null)
  // receives the n * k values the written model reads back, [n, k].
  // Errors: Internal when the number of parameters is not BlockCount or the
  // weight is not 2-D; those of Scheme::QuantizeWeight.
  virtual Result<QuantizedWeight> QuantizeWithParams(const WeightView& weight, const float* values,
                                                     const std::vector<BlockParams>& params,
                                                     std::vector<float>* dequantized) const = 0;
};

}  // namespace pq::quant

#endif  // PQ_QUANT_WEIGHT_GRID_H_
