// Test helpers: a temporary folder removed with its contents, file helpers,
// and running the pq binary.
#ifndef PQ_TESTS_TESTUTIL_TEMP_DIR_H_
#define PQ_TESTS_TESTUTIL_TEMP_DIR_H_

#include <string>
#include <vector>

namespace pq::testing {

// A fresh folder under $TMPDIR (or /tmp); removed recursively on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  // Names of the entries in the folder (hidden ones included), sorted.
  std::vector<std::string> List() const;

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
bool Exists(const std::string& path);

// The result of running the pq binary.
struct CliRun {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the pq binary built with the tests, with `args`, and no stdin.
CliRun RunPq(const std::vector<std::string>& args);

// Number of non-empty lines in `text`.
int CountLines(const std::string& text);

// The folder of the sample models shipped in the repository.
std::string ModelsDir();

}  // namespace pq::testing

#endif  // PQ_TESTS_TESTUTIL_TEMP_DIR_H_
