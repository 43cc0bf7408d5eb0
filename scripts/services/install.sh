#!/bin/sh
# Installs the servers used by tests and benches (nats-server, prosody,
# ferretdb) and the browser of the inspector's tests (chromium) when they
# are missing. Idempotent: returns at once when all are there.
set -eu

# ferretdb comes from Go, not apt.
sh "$(dirname "$0")/install-ferretdb.sh"

missing=""
if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  missing="$missing nats-server"
fi
if ! command -v prosody >/dev/null 2>&1 && [ ! -x /usr/bin/prosody ]; then
  missing="$missing prosody"
fi
# The inspector's browser tests drive Debian's chromium.
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  missing="$missing chromium"
fi
if [ -z "$missing" ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "wfe: missing:$missing, and apt-get is not available;" \
    "install nats-server 2.9+ and prosody 0.12+ by hand" >&2
  exit 1
fi

echo "wfe: installing$missing (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086 # $missing is a list of package names
if ! apt-get install -y $missing >&2; then
  # The package lists may be missing or stale; refresh once and retry.
  if ! { apt-get update >&2 && apt-get install -y $missing >&2; }; then
    echo "wfe: could not install$missing with apt-get" \
      "(are you root?); tests need them" >&2
    exit 1
  fi
fi
