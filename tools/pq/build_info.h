// Facts about this build of the pq tool, fixed when it was built, and the
// text of `pq --version`.
#ifndef PQ_TOOLS_PQ_BUILD_INFO_H_
#define PQ_TOOLS_PQ_BUILD_INFO_H_

#include <string>

namespace pq::cli {

// The git commit the tool was built from (12 hex digits, "+dirty" when the
// work tree had uncommitted changes), or "unknown" outside a git checkout.
// Generated at build time (cmake/build_info.cmake).
const char* GitCommit();

// CMAKE_BUILD_TYPE of the build ("Release", "Debug", ...).
const char* BuildType();

// `pq --version`: the first line is "pq VERSION"; then the commit, the build
// type, the CPU extensions the binary was compiled for and those the running
// CPU has (naming compiled ones it lacks). No trailing newline.
std::string VersionText();

}  // namespace pq::cli

#endif  // PQ_TOOLS_PQ_BUILD_INFO_H_
