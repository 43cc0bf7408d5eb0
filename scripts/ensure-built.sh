#!/bin/sh
# Installs dependencies and compiles when a fresh clone lacks them, so that
# `npm start` and `npm test` work as the first command run.
set -eu
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "wfe: installing dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund >&2
  touch node_modules
fi

stale=$(find actors runtime machines scripts/bench -name '*.ts' \
  -newer dist/.built 2>/dev/null | head -n 1 || true)
if [ ! -f dist/.built ] || [ -n "$stale" ]; then
  echo "wfe: compiling" >&2
  npx tsc -p tsconfig.build.json
  touch dist/.built
fi

# The inspector page is bundled apart: it runs in the browser.
stale=$(find runtime/inspector/ui runtime/inspector/wire.ts runtime/drp/types.ts \
  scripts/build-ui.mjs -newer dist/.built-ui 2>/dev/null | head -n 1 || true)
if [ ! -f dist/.built-ui ] || [ -n "$stale" ]; then
  echo "wfe: bundling the inspector page" >&2
  node scripts/build-ui.mjs
  touch dist/.built-ui
fi
