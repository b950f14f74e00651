#!/usr/bin/env bash
# System packages the end-to-end tests use: a PostgreSQL server (production storage test) and
# headless Chromium (the committee pack must render in a real browser). Installed only when absent.
set -euo pipefail
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ "${#missing[@]}" -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
    echo "system_deps: please install: ${missing[*]} (tests needing them are skipped)" >&2
    exit 0
fi
echo "system_deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
