#!/usr/bin/env bash
# Function lengths under src/, measured by Debian's pmccabe (issue 14: none
# longer than 120 lines). pmccabe does not parse C++17 nested namespace
# definitions (`namespace pq::exec {`) and silently skips what it cannot
# parse, so each file is measured on a copy with them spelled out.
#
#   tools/function_lengths.sh [MAX [SHOW]]
#
# Prints the SHOW (default 10) longest functions (lines, file, function).
# Exit 0: every function has at most MAX (default 120) lines; 1: one is
# longer (listed on stderr); 2: pmccabe is missing or measured nothing in a
# file that defines functions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
max=${1:-120}
show=${2:-10}
command -v pmccabe > /dev/null || { echo "function_lengths: pmccabe is not installed (apt-get install pmccabe)" >&2; exit 2; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
: > "$scratch/all"
for f in $(git ls-files 'src/*.cc' 'src/*.h'); do
  sed -E 's/namespace ([a-z_]+)::([a-z_]+)::([a-z_]+) \{/namespace \1 { namespace \2 { namespace \3 {/;
          s/namespace ([a-z_]+)::([a-z_]+) \{/namespace \1 { namespace \2 {/' "$f" > "$scratch/copy.cc"
  pmccabe -v "$scratch/copy.cc" > "$scratch/one" 2> /dev/null || true
  awk -v f="$f" '$5 ~ /^[0-9]+$/ {print $5, f, $NF}' "$scratch/one" > "$scratch/rows"
  # pmccabe prints nothing for a file it cannot parse: a file that defines a
  # function at column 0 (a line ending in ") {" or ") const {") must give rows.
  if [ ! -s "$scratch/rows" ] && grep -Eq '^[A-Za-z].*\) (const )?\{$' "$f"; then
    echo "function_lengths: pmccabe measured no function in $f" >&2
    exit 2
  fi
  cat "$scratch/rows" >> "$scratch/all"
done
sort -rn "$scratch/all" > "$scratch/sorted"
head -n "$show" "$scratch/sorted"
long=$(awk -v max="$max" '$1 > max' "$scratch/sorted")
if [ -n "$long" ]; then
  echo "function_lengths: longer than $max lines:" >&2
  echo "$long" >&2
  exit 1
fi
