#!/bin/sh
# Stops a (pretend) VM started by start-vm.sh.
set -eu
name=$(node -e 'console.log(JSON.parse(process.env.WFE_PARAMS).name)')
root="${WFE_VM_ROOT:-${TMPDIR:-/tmp}/wfe-vms}"
if [ ! -f "$root/$name/state" ]; then
  echo "vm $name does not exist" >&2
  exit 3
fi
echo stopped > "$root/$name/state"
echo "vm $name stopped"
printf '{"name":"%s","state":"stopped"}' "$name" > "$WFE_RESULT_FILE"
