# Precompiled headers: nearly every file of the library includes onnx's
# generated protobuf classes (with the standard headers, 115-150k lines once
# preprocessed); parsing them once per target instead of once per file saves
# about a fifth of the library's compile time (measured on ten files of src/,
# gcc 12, -O3: 62 s -> 50 s), and builds are most of CI's budget (two full
# builds on two cores). The test files gain nothing from it (gtest's
# expansions dominate them; small ones got slower loading the header), so
# pq_tests does not use it. The headers are only prepended, so a build
# without them (-DPQ_PRECOMPILED_HEADERS=OFF) must compile too: each file
# still includes what it uses.
option(PQ_PRECOMPILED_HEADERS "Precompile the headers most files include (faster builds)" ON)

set(PQ_COMMON_HEADERS
  <onnx/onnx_pb.h> <algorithm> <cmath> <cstdint> <cstring> <functional> <map> <memory>
  <optional> <set> <string> <unordered_map> <utility> <vector>)

# pq_precompile_headers(TARGET [EXTRA_HEADER...]): TARGET's files start
# from the common headers (plus EXTRA_HEADER...), precompiled once.
function(pq_precompile_headers target)
  if(PQ_PRECOMPILED_HEADERS)
    target_precompile_headers(${target} PRIVATE ${PQ_COMMON_HEADERS} ${ARGN})
  endif()
endfunction()

# Files compiled with options of their own cannot share the target's
# precompiled header (clang refuses one built with other options).
function(pq_skip_precompiled_headers)
  set_source_files_properties(${ARGN} PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
endfunction()
