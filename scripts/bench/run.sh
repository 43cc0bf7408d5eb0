#!/bin/sh
# Runs one benchmark: sh scripts/bench/run.sh <name>. Builds first when the
# compiled bench is missing or any source is newer than it.
set -eu

name="${1:?usage: run.sh <bench name>}"
cd "$(dirname "$0")/../.."
built="dist/scripts/bench/$name.js"

if [ ! -f "$built" ] ||
  [ -n "$(find actors machines runtime scripts/bench scripts/services tsconfig.json \
    tsconfig.build.json \( -name '*.ts' -o -name 'tsconfig*.json' \) \
    -newer "$built" 2>/dev/null | head -n 1)" ]; then
  echo "building (npx tsc -p tsconfig.build.json)..." >&2
  # tsc still emits when some file has type errors; the bench can run then.
  npx tsc -p tsconfig.build.json >&2 ||
    echo "warning: tsc reported errors (see above)" >&2
fi

if [ ! -f "$built" ]; then
  echo "no $built: is scripts/bench/$name.ts there?" >&2
  exit 1
fi

exec node "$built"
