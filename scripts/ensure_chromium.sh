#!/usr/bin/env bash
# The end-to-end test drives Debian's chromium; install it when missing and we may (root + apt).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is not installed: the browser test will be skipped (install Debian's chromium package)." >&2
fi
