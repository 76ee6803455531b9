#!/bin/sh
# Install headless Chromium for the browser test of the HTML report (tests/test_report.py),
# so that CI runs it instead of skipping. Debian/Ubuntu: package `chromium` (and DejaVu fonts,
# which the report asks for first, so text renders without recommends). Idempotent.
set -eu
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-chromium: no apt-get here; install Chromium by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core
command -v chromium >/dev/null 2>&1
