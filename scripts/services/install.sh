#!/bin/sh
# Installs nats-server (used by tests and benches) when it is missing.
# Idempotent: returns at once when the server is already there.
set -eu

if command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "wfe: nats-server is missing and apt-get is not available;" \
    "install nats-server 2.9 or later by hand" >&2
  exit 1
fi

echo "wfe: installing nats-server (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y nats-server >&2; then
  # The package lists may be missing or stale; refresh once and retry.
  if ! { apt-get update >&2 && apt-get install -y nats-server >&2; }; then
    echo "wfe: could not install nats-server with apt-get" \
      "(are you root?); tests need it" >&2
    exit 1
  fi
fi
