#include "base/block_cache.h"

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace pq::base {
namespace {

// Smaller blocks come from malloc's own free lists without page faults.
constexpr size_t kMinCachedBytes = size_t{4} << 10;
constexpr size_t kMaxCachedBytes = size_t{256} << 20;

struct BlockCache {
  std::mutex mutex;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by size
  size_t cached_bytes = 0;
};

// Never destroyed: tensors held in static storage may be released after the
// cache would have been.
BlockCache& Cache() {
  static BlockCache* cache = new BlockCache;
  return *cache;
}

}  // namespace

void* AcquireBlock(size_t alignment, size_t bytes) {
  if (bytes >= kMinCachedBytes) {
    BlockCache& cache = Cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto it = cache.free_blocks.find(bytes);
    if (it != cache.free_blocks.end() && !it->second.empty()) {
      void* block = it->second.back();
      it->second.pop_back();
      cache.cached_bytes -= bytes;
      return block;
    }
  }
  return std::aligned_alloc(alignment, bytes);
}

void ReleaseBlock(void* block, size_t bytes) {
  if (block == nullptr) return;
  if (bytes >= kMinCachedBytes) {
    BlockCache& cache = Cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (cache.cached_bytes + bytes <= kMaxCachedBytes) {
      cache.free_blocks[bytes].push_back(block);
      cache.cached_bytes += bytes;
      return;
    }
  }
  std::free(block);
}

}  // namespace pq::base
