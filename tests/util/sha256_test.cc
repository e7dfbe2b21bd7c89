#include "util/sha256.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace pq {
namespace {

// Bytes that cross Sha256Stream's buffer boundary and fill its queue.
constexpr size_t kStreamBytes = Sha256Stream::kBufferBytes * (Sha256Stream::kQueuedBuffers + 2) + 12345;

TEST(Sha256Test, KnownDigestOfAbc) {
  EXPECT_EQ(Sha256Bytes("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256StreamTest, PiecesGiveTheDigestOfTheWhole) {
  std::vector<uint8_t> bytes(kStreamBytes);
  uint32_t state = 12345;
  for (uint8_t& b : bytes) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(state >> 24);
  }
  Sha256Stream stream;
  // Uneven pieces, some larger than a buffer, one empty.
  const size_t pieces[] = {1, 0, 4095, Sha256Stream::kBufferBytes + 7, 3 * Sha256Stream::kBufferBytes, 100};
  size_t at = 0;
  for (size_t i = 0; at < bytes.size(); ++i) {
    const size_t n = std::min(pieces[i % 6], bytes.size() - at);
    stream.Update(bytes.data() + at, n);
    at += n;
  }
  EXPECT_EQ(stream.Finish(), Sha256Bytes(bytes.data(), bytes.size()));
}

TEST(Sha256StreamTest, NothingGivesTheEmptyDigest) {
  Sha256Stream stream;
  EXPECT_EQ(stream.Finish(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace pq
