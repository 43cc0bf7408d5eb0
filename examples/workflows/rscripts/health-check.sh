#!/bin/sh
# Checks one role of a freshly started machine from the agent it runs on.
# Its args are the machine's name and the role ('web' or 'db'); params
# arrive as JSON in WFE_PARAMS_FILE, the result goes to WFE_RESULT_FILE.
set -eu
arg() {
  node -e '
    const params = JSON.parse(require("fs").readFileSync(process.argv[1]));
    console.log(params.args[process.argv[2]]);
  ' "$WFE_PARAMS_FILE" "$1"
}
name=$(arg 0)
role=$(arg 1)
echo "checking $role on $name from $(hostname)"
printf '{"name":"%s","role":"%s","healthy":true}' "$name" "$role" \
  > "$WFE_RESULT_FILE"
