#!/usr/bin/env bash
# The review store's tests also run on a throwaway PostgreSQL server (tests/postgresql.py): install
# Debian's postgresql when missing and we may (root + apt). Debian keeps its binaries off the PATH.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
  exit 0
fi
for bin in /usr/lib/postgresql/*/bin; do
  if [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ]; then
    exit 0
  fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
else
  echo "PostgreSQL is not installed: the review store's PostgreSQL tests will be skipped (install Debian's postgresql package)." >&2
fi
