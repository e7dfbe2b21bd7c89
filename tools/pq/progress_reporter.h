// Progress of long library calls on stderr: a bar on a terminal, a log line
// every 10 % otherwise (as `pq quantize` does for calibration).
#ifndef PQ_TOOLS_PROGRESS_REPORTER_H_
#define PQ_TOOLS_PROGRESS_REPORTER_H_

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <spdlog/spdlog.h>

#include "pq/validate.h"

namespace pq::cli {

inline constexpr int kProgressBarWidth = 30;
inline constexpr int64_t kProgressLogSteps = 10;  // log lines per stage off a terminal

// Returns a ProgressFn that draws one bar (or logs) per stage.
inline ProgressFn MakeProgressReporter() {
  const bool tty = isatty(STDERR_FILENO) != 0;
  auto logged = std::make_shared<std::map<std::string, int64_t>>();
  return [tty, logged](const std::string& stage, int64_t done, int64_t total) {
    if (total <= 0) return;
    if (tty) {
      const int filled = static_cast<int>(kProgressBarWidth * done / total);
      std::fprintf(stderr, "\r%-10s [%s%s] %lld/%lld", stage.c_str(),
                   std::string(static_cast<size_t>(filled), '#').c_str(),
                   std::string(static_cast<size_t>(kProgressBarWidth - filled), ' ').c_str(),
                   static_cast<long long>(done), static_cast<long long>(total));
      if (done == total) std::fprintf(stderr, "\n");
      return;
    }
    const int64_t step = done * kProgressLogSteps / total;
    auto it = logged->find(stage);
    if (it != logged->end() && it->second == step) return;
    (*logged)[stage] = step;
    spdlog::info("{}: {}/{}", stage, done, total);
  };
}

}  // namespace pq::cli

#endif  // PQ_TOOLS_PROGRESS_REPORTER_H_
