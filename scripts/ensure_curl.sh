#!/usr/bin/env bash
# The service's documented curl examples run in the tests; install curl when missing and we may (root + apt).
set -euo pipefail
if command -v curl >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl >/dev/null
else
  echo "curl is not installed: the service's documented examples will be skipped (install Debian's curl)." >&2
fi
