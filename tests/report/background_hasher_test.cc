// Tests of the input-file hashing behind the report: Sha256File's stop flag
// and BackgroundHasher (src/util/sha256.cc, src/report/report.cc).
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "pq/report.h"
#include "testutil/temp_dir.h"
#include "util/sha256.h"

namespace pq {
namespace {

// SHA-256 of the three bytes "abc" (FIPS 180-2, appendix B.1).
constexpr char kAbcDigest[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

TEST(BackgroundHasherTest, Sha256FileMatchesTheKnownAnswer) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("abc"), "abc");
  Result<std::string> digest = Sha256File(dir.File("abc"));
  ASSERT_TRUE(digest.ok()) << digest.status().ToString();
  EXPECT_EQ(digest.value(), kAbcDigest);
}

TEST(BackgroundHasherTest, Sha256FileStopsWhenAskedAndOnlyThen) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("big"), std::string(3 << 20, 'x'));  // three 1 MiB reads
  std::atomic<bool> cancel{true};
  Result<std::string> stopped = Sha256File(dir.File("big"), &cancel);
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.status().message().find("hashing stopped"), std::string::npos)
      << stopped.status().ToString();
  cancel = false;
  Result<std::string> full = Sha256File(dir.File("big"), &cancel);
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  EXPECT_EQ(full.value(), Sha256File(dir.File("big")).value());
}

TEST(BackgroundHasherTest, WaitReturnsEveryFilesDigest) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("abc"), "abc");
  testing::WriteFile(dir.File("big"), std::string(2 << 20, 'y'));
  BackgroundHasher hasher({dir.File("abc"), dir.File("big")});
  Result<std::map<std::string, std::string>> digests = hasher.Wait();
  ASSERT_TRUE(digests.ok()) << digests.status().ToString();
  ASSERT_EQ(digests->size(), 2u);
  EXPECT_EQ(digests->at(dir.File("abc")), kAbcDigest);
  EXPECT_EQ(digests->at(dir.File("big")), Sha256File(dir.File("big")).value());
}

TEST(BackgroundHasherTest, MissingFileIsTheError) {
  testing::TempDir dir;
  BackgroundHasher hasher({dir.File("absent")});
  Result<std::map<std::string, std::string>> digests = hasher.Wait();
  ASSERT_FALSE(digests.ok());
  EXPECT_NE(digests.status().message().find("absent"), std::string::npos);
}

}  // namespace
}  // namespace pq
