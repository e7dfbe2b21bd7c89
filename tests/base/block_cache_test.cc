// Tests of src/base/block_cache.cc: large blocks are reused, small ones are
// not kept, and tensors built on top of it keep their contract.
#include "base/block_cache.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "pq/tensor.h"

namespace pq::base {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kLargeBytes = size_t{1} << 20;

TEST(BlockCacheTest, ReusesAFreedLargeBlockOfTheSameSize) {
  void* first = AcquireBlock(kAlignment, kLargeBytes);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % kAlignment, 0u);
  ReleaseBlock(first, kLargeBytes);
  void* second = AcquireBlock(kAlignment, kLargeBytes);
  EXPECT_EQ(second, first);
  ReleaseBlock(second, kLargeBytes);
}

TEST(BlockCacheTest, DoesNotHandABlockToAnotherSize) {
  void* block = AcquireBlock(kAlignment, kLargeBytes);
  ReleaseBlock(block, kLargeBytes);
  void* other = AcquireBlock(kAlignment, 2 * kLargeBytes);
  EXPECT_NE(other, block);
  ReleaseBlock(other, 2 * kLargeBytes);
}

TEST(BlockCacheTest, ZeroFilledTensorsStayZeroWhenTheirBlockIsReused) {
  {
    Tensor dirty = Tensor::AllocateUninitialized(kFloat, {1 << 18}).value();
    for (int64_t i = 0; i < dirty.size(); ++i) dirty.data<float>()[i] = 1.0f;
  }
  Tensor clean = Tensor::Allocate(kFloat, {1 << 18}).value();
  for (int64_t i = 0; i < clean.size(); ++i) ASSERT_EQ(clean.data<float>()[i], 0.0f);
}

}  // namespace
}  // namespace pq::base
