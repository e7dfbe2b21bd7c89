#include "openmp_wait.h"

#include <unistd.h>

#include <cstdlib>

namespace pq {

void PreferPassiveOpenMpWait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // exec failed: carry on with the default policy (the variable set above
  // no longer matters to this process).
}

}  // namespace pq
