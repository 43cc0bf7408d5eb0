#!/bin/sh
# npm test: types, lint and formatting, then every tap test with coverage.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-built.sh
sh scripts/services/install.sh

npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p runtime/inspector/ui/tsconfig.json
npx eslint .
npx prettier --check . >/dev/null || {
  npx prettier --list-different .
  echo "wfe: files above are not formatted (npm run format)" >&2
  exit 1
}

# tap compiles its plugin set on first use; a stale one breaks the run.
npx tap build >/dev/null
npx tap "$@"
