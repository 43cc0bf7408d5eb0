#!/bin/sh
# Starts a (pretend) VM: records its state in a folder per VM, as a real
# hypervisor script would call virsh or qemu. Params arrive as JSON.
set -eu
name=$(node -e 'console.log(JSON.parse(process.env.WFE_PARAMS).name)')
root="${WFE_VM_ROOT:-${TMPDIR:-/tmp}/wfe-vms}"
mkdir -p "$root/$name"
echo running > "$root/$name/state"
echo "vm $name started"
printf '{"name":"%s","state":"running","dir":"%s"}' "$name" "$root/$name" \
  > "$WFE_RESULT_FILE"
