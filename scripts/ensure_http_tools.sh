#!/usr/bin/env bash
# The service's tests run its documented curl examples, and benchmarks/serve.py drives it with wrk: install
# Debian's curl and wrk when missing and we may (root + apt).
set -euo pipefail
missing=()
for tool in curl wrk; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "${missing[*]} not installed: the service's curl examples and load benchmark will be skipped (install Debian's ${missing[*]})." >&2
fi
