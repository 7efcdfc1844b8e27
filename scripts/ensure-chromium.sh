#!/usr/bin/env bash
# Installs Debian's chromium when it is not on PATH: the App Metrics page
# (/ui/) is tested in a real headless browser (handlers' TestUI* tests,
# driven by chromedp). About a minute on a fresh machine.
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
  echo "chromium not found: installing it with apt-get" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi
