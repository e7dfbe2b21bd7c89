# Shared by pq's scripts: logging, installing missing Debian packages, building.
# Source it; it defines functions only.

PQ_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PQ_BUILD_DIR="${PQ_BUILD_DIR:-$PQ_ROOT/build}"
PQ_JOBS="${PQ_JOBS:-2}"

# Debian bookworm packages the build and the test suite need. libdnnl-dev's
# CMake config (find_package(dnnl)) requires OpenCL's headers and library,
# which Debian only recommends (ocl-icd-opencl-dev) and apt-get here does not
# install recommends: without it a fresh machine fails at configure.
PQ_PACKAGES=(
  cmake make g++ pkg-config
  libonnx-dev libprotobuf-dev protobuf-compiler
  libeigen3-dev libcli11-dev libspdlog-dev libgtest-dev nlohmann-json3-dev libzip-dev libssl-dev libdnnl-dev ocl-icd-opencl-dev
  python3 python3-onnx python3-numpy libonnx-testdata
)

# What the test suite needs beyond the build: JSON Schema validation, a real
# browser for the HTML report, SentencePiece's tools, torch (CPU) for
# tools/make_wide_llm.py, which derives the hidden-256 LLM the GGUF test
# needs in 3 s (nothing is trained in the tests), and dpkg-shlibdeps
# (dpkg-dev) for the Debian package's Depends (`cpack -G DEB`).
# pmccabe measures function lengths (tools/function_lengths.sh, issue 14's
# 120-line limit). python3-sentencepiece: tools/make_wide_llm.py imports
# train_tiny_llm.py, which imports the sentencepiece module.
PQ_TEST_PACKAGES=(python3-jsonschema chromium sentencepiece python3-sentencepiece python3-torch dpkg-dev pmccabe)

# What the hardening steps need beyond the build: clang 14 with libFuzzer and
# the sanitizer runtimes (tools/fuzz.sh), and clang's OpenMP runtime.
PQ_HARDENING_PACKAGES=(clang-14 libclang-rt-14-dev libomp-14-dev)

# Serialises compilation on a shared machine: every build takes this lock.
PQ_BUILD_LOCK="${PQ_BUILD_LOCK:-/tmp/pq_build.lock}"
# The sanitizer and fuzz builds: -O2 with line tables only (-g1), which
# symbolizes every report to file:line and compiles about 30 % faster than -g.
PQ_SANITIZER_FLAGS=(-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG")

# The one hardening build that tools/sanitize.sh and tools/fuzz.sh share:
# clang 14, ASan+UBSan, libFuzzer coverage on the library (PQ_FUZZ), the unit
# tests and the fuzz targets, so the library is compiled once for both steps.
PQ_HARDENING_BUILD_DIR="${PQ_HARDENING_BUILD_DIR:-$PQ_ROOT/build-hardening}"
configure_hardening_build() {
  say "configuring $PQ_HARDENING_BUILD_DIR (clang-14, ASan+UBSan, PQ_FUZZ=ON, tests)"
  CC=clang-14 CXX=clang++-14 cmake -S "$PQ_ROOT" -B "$PQ_HARDENING_BUILD_DIR" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo "${PQ_SANITIZER_FLAGS[@]}" -DPQ_SANITIZE=address,undefined \
    -DPQ_FUZZ=ON -DPQ_NATIVE=OFF -DPQ_BUILD_TESTS=ON >/dev/null
}

say() { printf '==> %s\n' "$*" >&2; }

# Installs whichever of the given Debian packages are missing (apt-get).
ensure_packages() {
  local missing=()
  local p
  for p in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "all ${#@} required Debian packages are installed"
    return 0
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { say "need root or sudo to install: ${missing[*]}"; return 1; }
    sudo="sudo"
  fi
  say "installing missing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Configures and builds pq in Release mode in $PQ_BUILD_DIR.
build_pq() {
  say "configuring ($PQ_BUILD_DIR, Release)"
  cmake -S "$PQ_ROOT" -B "$PQ_BUILD_DIR" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
  say "building with $PQ_JOBS jobs (holding $PQ_BUILD_LOCK)"
  with_build_lock cmake --build "$PQ_BUILD_DIR" -j "$PQ_JOBS"
}

# Installs the npm packages of the interop tests into tests/interop/node_modules:
# onnxruntime-node and node-llama-cpp with @node-llama-cpp/linux-x64, whose
# Linux x64 libraries ship inside the packages (no install scripts run).
ensure_npm_packages() {
  command -v npm >/dev/null || ensure_packages nodejs npm
  local dir="$PQ_ROOT/tests/interop"
  if [ -d "$dir/node_modules/onnxruntime-node" ] && [ -d "$dir/node_modules/node-llama-cpp" ] \
     && [ -d "$dir/node_modules/@node-llama-cpp/linux-x64" ]; then
    say "npm packages are installed"
    return 0
  fi
  say "installing npm packages in tests/interop (npm ci --ignore-scripts --omit=optional)"
  # --omit=optional: node-llama-cpp lists every platform's and GPU backend's
  # prebuilt binaries as optional (650 MB); the linux-x64 CPU one is a direct
  # dependency of package.json.
  (cd "$dir" && npm ci --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error)
}

# Runs "$@" holding $PQ_BUILD_LOCK (flock), or plainly when flock is missing.
with_build_lock() {
  if command -v flock >/dev/null; then
    flock "$PQ_BUILD_LOCK" "$@"
  else
    "$@"
  fi
}
