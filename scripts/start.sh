#!/bin/sh
# npm start: the engine on embedded defaults, with the examples loaded.
set -eu
cd "$(dirname "$0")/.."
sh scripts/ensure-built.sh
exec node bin/wfe.js start "$@"
