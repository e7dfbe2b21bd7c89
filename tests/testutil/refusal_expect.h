// Expectations of the hostile-input suites: a refused command leaves no
// output and no temporary file behind and changes none of its inputs.
#ifndef PQ_TESTS_TESTUTIL_REFUSAL_EXPECT_H_
#define PQ_TESTS_TESTUTIL_REFUSAL_EXPECT_H_

#include <sys/stat.h>

#include <map>
#include <string>
#include <vector>

#include "testutil/cli_expect.h"
#include "testutil/temp_dir.h"
#include "util/sha256.h"

namespace pq::testing {

// sha256 of every regular file directly in `dir`, by name: the inputs before
// a run, compared with the same after it.
inline std::map<std::string, std::string> HashFiles(const TempDir& dir) {
  std::map<std::string, std::string> hashes;
  for (const std::string& name : dir.List()) {
    struct stat st;
    if (lstat(dir.File(name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    Result<std::string> hash = Sha256File(dir.File(name));
    hashes[name] = hash.ok() ? hash.value() : "unreadable";
  }
  return hashes;
}

// Runs `args` and expects a refusal (ExpectRefusal) with nothing written to
// `dir` and every file in it unchanged.
inline void ExpectRefusedAndUntouched(const TempDir& dir, const std::vector<std::string>& args,
                                      int exit_code, const std::string& fragment) {
  const std::vector<std::string> before_names = dir.List();
  const auto before = HashFiles(dir);
  ExpectRefusal(RunPq(args), exit_code, fragment);
  EXPECT_EQ(dir.List(), before_names) << "an output or temporary file was left";
  EXPECT_EQ(HashFiles(dir), before) << "an input changed";
}

}  // namespace pq::testing

#endif  // PQ_TESTS_TESTUTIL_REFUSAL_EXPECT_H_
