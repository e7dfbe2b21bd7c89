// A process-wide cache of large tensor blocks. Runs of one model allocate the
// same sizes run after run; handing a freed block to the next allocation of
// its size spares the page faults (and kernel zeroing) of a fresh mapping,
// which for megabyte activations cost as much as the arithmetic.
#ifndef PQ_BASE_BLOCK_CACHE_H_
#define PQ_BASE_BLOCK_CACHE_H_

#include <cstddef>

namespace pq::base {

// Returns a block of `bytes` bytes aligned to `alignment`, reusing a cached
// block of exactly that size when there is one, or nullptr when memory is
// exhausted. REQUIRES: `bytes` is a positive multiple of `alignment`.
// Thread-safe. The block is released with ReleaseBlock(block, bytes).
void* AcquireBlock(size_t alignment, size_t bytes);

// Gives back a block from AcquireBlock. Blocks of at least 4 KiB are kept for
// reuse while the cache holds less than 256 MiB; others are freed.
// Thread-safe.
void ReleaseBlock(void* block, size_t bytes);

}  // namespace pq::base

#endif  // PQ_BASE_BLOCK_CACHE_H_
