#!/bin/sh
# Builds ferretdb (the MongoDB-compatible server tests and benches use)
# when it is missing. Built even when WFE_MONGODB_URL names a server:
# the tests that stop and kill a server run one of their own.
# Idempotent: returns at once when a working binary is there.
set -eu

FERRETDB_MODULE=github.com/FerretDB/FerretDB
FERRETDB_VERSION=v1.24.2

# A binary that panics at start (see below) counts as missing.
works() {
  [ -x "$1" ] && "$1" --version >/dev/null 2>&1
}

found=$(command -v ferretdb 2>/dev/null || true)
if [ -n "$found" ] && works "$found"; then
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "wfe: ferretdb is not installed and go is not available to build" \
    "it; install Go 1.24+ and run scripts/services/install.sh again" >&2
  exit 1
fi

# Where `go install` would put it; tests look there too.
bin_dir=$(go env GOBIN)
if [ -z "$bin_dir" ]; then
  bin_dir="$(go env GOPATH | cut -d: -f1)/bin"
fi
target="$bin_dir/ferretdb"

if [ -n "$found" ] && [ "$found" != "$target" ]; then
  echo "wfe: $found does not run (try \`$found --version\`); remove it" \
    "and run scripts/services/install.sh again to build one in $bin_dir" >&2
  exit 1
fi
if works "$target"; then
  exit 0
fi

echo "wfe: building ferretdb $FERRETDB_VERSION into $bin_dir" \
  "(takes about a minute)" >&2

# A plain `go install ...@version` makes a binary that panics at start:
# the module lacks the build/version/version.txt its release builds
# generate. So build a copy of the module source with that file added.
work=$(mktemp -d "${TMPDIR:-/tmp}/wfe-ferretdb-build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
trap 'exit 1' INT TERM

# Go's own output is shown only when a step fails.
log="$work/go.log"
fail() {
  cat "$log" >&2
  echo "wfe: $1" >&2
  exit 1
}

module="$FERRETDB_MODULE@$FERRETDB_VERSION"
(cd "$work" && go mod download -json "$module") >"$work/module.json" \
  2>"$log" || fail "could not download $module"
source_dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p' \
  "$work/module.json")
[ -d "$source_dir" ] || fail "go did not say where $module is"

cp -R "$source_dir" "$work/src"
chmod -R u+w "$work/src"
echo "$FERRETDB_VERSION" >"$work/src/build/version/version.txt"

(cd "$work/src" &&
  go build -buildvcs=false -o "$work/ferretdb" ./cmd/ferretdb) \
  >"$log" 2>&1 || fail "could not build ferretdb"
works "$work/ferretdb" || fail "the ferretdb just built does not run"

# Copy, then rename: a concurrent run never sees half a binary.
mkdir -p "$bin_dir"
cp "$work/ferretdb" "$target.tmp.$$"
mv -f "$target.tmp.$$" "$target"
