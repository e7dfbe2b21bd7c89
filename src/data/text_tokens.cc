// Text files as token rows, tokenized by Debian's SentencePiece command-line
// encoder (`spm_encode`, package sentencepiece) in a child process.
//
// Why not libsentencepiece in-process: Debian's libsentencepiece carries its
// own protobuf runtime (3.14) whose version check resolves against the
// system libprotobuf (3.21) that ONNX's protos load, and aborts.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "data/token_source.h"

extern char** environ;

namespace pq::data {
namespace {

// Runs `argv` and returns its standard output; its standard error is
// discarded unless it fails. Errors name `what`.
Result<std::string> RunCapturingOutput(const std::vector<std::string>& argv, const std::string& what) {
  int out_pipe[2];
  if (pipe(out_pipe) != 0) return Status::Internal(what + ": pipe: " + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out_pipe[1]);
  if (spawned != 0) {
    close(out_pipe[0]);
    return Status::InvalidInput(what + ": cannot run " + argv[0] + " (" + std::strerror(spawned) +
                                "); text data needs Debian's sentencepiece package");
  }
  std::string output;
  char buffer[1 << 16];
  ssize_t n;
  while ((n = read(out_pipe[0], buffer, sizeof(buffer))) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) output.append(buffer, static_cast<size_t>(n));
  }
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Status::InvalidInput(what + ": " + argv[0] + " failed");
  }
  return output;
}

}  // namespace

Result<TokenRows> ReadTokenText(const std::string& path, const std::string& tokenizer,
                                int64_t context, int64_t vocab_size) {
  if (tokenizer.empty()) {
    return Status::InvalidInput(path + ": text data needs a tokenizer (--tokenizer tokenizer.model)");
  }
  if (access(path.c_str(), R_OK) != 0) return Status::InvalidInput(path + ": cannot be read");
  if (access(tokenizer.c_str(), R_OK) != 0) return Status::InvalidInput(tokenizer + ": cannot be read");
  // One stream: spm_encode encodes each line on its own (one output line of
  // ids per input line) and the ids are concatenated.
  Result<std::string> encoded =
      RunCapturingOutput({"spm_encode", "--model=" + tokenizer, "--output_format=id", "--input=" + path},
                         path + " with tokenizer " + tokenizer + " (a SentencePiece .model?)");
  if (!encoded.ok()) return encoded.status();
  std::vector<int64_t> ids;
  std::istringstream in(encoded.value());
  std::string word;
  while (in >> word) {
    char* end = nullptr;
    errno = 0;
    const long long id = std::strtoll(word.c_str(), &end, 10);
    if (end == word.c_str() || *end != '\0' || errno != 0) {
      return Status::InvalidInput(path + ": spm_encode gave '" + word + "', not a token id");
    }
    ids.push_back(id);
  }
  const int64_t length = static_cast<int64_t>(ids.size());
  if (length == 0) return Status::InvalidInput(path + ": holds no text");
  return WindowTokens(path, ids, 1, length, context > 0 ? context : kDefaultTextContext, vocab_size);
}

}  // namespace pq::data
