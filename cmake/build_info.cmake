# Run at build time (cmake -P): writes OUT from IN with the source tree's git
# commit ("unknown" outside a git checkout; "+dirty" when the work tree has
# uncommitted changes) and BUILD_TYPE. configure_file rewrites OUT only when
# its text changes, so an unchanged commit recompiles nothing.
# Inputs: -DSOURCE_DIR= -DIN= -DOUT= -DBUILD_TYPE=
set(PQ_GIT_COMMIT "unknown")
find_package(Git QUIET)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} rev-parse --short=12 HEAD
    OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE failed)
  if(NOT failed AND commit)
    set(PQ_GIT_COMMIT "${commit}")
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} status --porcelain --untracked-files=no
      OUTPUT_VARIABLE changes OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
    if(changes)
      string(APPEND PQ_GIT_COMMIT "+dirty")
    endif()
  endif()
endif()
set(PQ_BUILD_TYPE "${BUILD_TYPE}")
if(NOT PQ_BUILD_TYPE)
  set(PQ_BUILD_TYPE "unspecified")
endif()
configure_file(${IN} ${OUT} @ONLY)
