#!/usr/bin/env bash
# Installs Debian's LibreOffice Calc without a GUI when soffice is not on
# PATH: the XLSX exports are checked by opening them in a real spreadsheet
# program (handlers' TestXLSXThroughLibreOffice). About 25 s on a fresh
# machine.
set -euo pipefail
if ! command -v soffice >/dev/null 2>&1; then
  echo "soffice not found: installing libreoffice-calc-nogui with apt-get" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq libreoffice-calc-nogui >/dev/null
fi
