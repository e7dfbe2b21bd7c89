// Helpers shared by pq's libFuzzer targets: a per-process scratch folder and
// writing fuzzed bytes to a file in it.
#ifndef PQ_TESTS_FUZZ_FUZZ_UTIL_H_
#define PQ_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace pq::fuzz {

// A folder private to this process, created on first use, removed at exit.
const std::string& ScratchDir();

// Writes `size` bytes at `data` to `path` (truncating it). Aborts on failure:
// a fuzz run that cannot write its scratch file is broken, not a finding.
void WriteBytes(const std::string& path, const uint8_t* data, size_t size);

// Removes every entry of ScratchDir() (not recursive: targets make flat files
// and one level of folders).
void ClearScratch();

}  // namespace pq::fuzz

#endif  // PQ_TESTS_FUZZ_FUZZ_UTIL_H_
