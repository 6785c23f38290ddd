#!/usr/bin/env bash
# Make sure Debian's Chromium is installed: test/pipeline/cli/status-page
# opens the page `aviary status --html` writes in a real headless browser
# (driven by playwright-core, which never downloads a browser of its own).
# Idempotent.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

if command -v chromium >/dev/null 2>&1; then
  echo "ensure-chromium: $(chromium --version 2>/dev/null) already installed, nothing to do"
  exit 0
fi
apt_install ensure-chromium chromium
if ! command -v chromium >/dev/null 2>&1; then
  echo "ensure-chromium: apt-get succeeded but chromium is not on PATH" >&2
  exit 1
fi
echo "ensure-chromium: installed $(chromium --version 2>/dev/null)"
