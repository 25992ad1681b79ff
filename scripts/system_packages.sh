#!/usr/bin/env bash
# Debian packages the tests and the demo need: a CJK font (PDF rendering and reading) and Debian's
# chromium + chromedriver (the browser test), and PostgreSQL (tests/test_servers.py starts a throwaway
# cluster to run the store on). Installs what is missing with apt when root or with
# passwordless sudo; otherwise prints the one command a person must run and fails, so `make test`
# never runs with tests that would be skipped or fail for a missing system package.
set -euo pipefail
packages=(fonts-wqy-microhei chromium chromium-driver postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "jixiao: missing system packages ${missing[*]} and no apt-get here; install them with your package manager" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo="sudo -n"
else
  echo "jixiao: missing system packages; run: sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "jixiao: installing system packages ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
