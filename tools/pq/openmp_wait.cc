#include "openmp_wait.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace pq {

void LimitOpenMpSpinning(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", std::to_string(kOpenMpSpinCount).c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed: carry on with the default policy (the variable set above
  // no longer matters to this process).
}

}  // namespace pq
