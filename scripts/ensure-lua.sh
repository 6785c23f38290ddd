#!/usr/bin/env bash
# Make sure Lua 5.1 is installed: Argo CD runs its custom health checks in
# gopher-lua, a Lua 5.1, and test/examples/job-health.test.ts runs the
# fleet's Job health check (examples/argocd/job-health.yaml) in the real
# language rather than trusting it unread. Idempotent.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

if command -v lua5.1 >/dev/null 2>&1; then
  echo "ensure-lua: $(lua5.1 -v 2>&1) already installed, nothing to do"
  exit 0
fi
apt_install ensure-lua lua5.1
if ! command -v lua5.1 >/dev/null 2>&1; then
  echo "ensure-lua: apt-get succeeded but lua5.1 is not on PATH" >&2
  exit 1
fi
echo "ensure-lua: installed $(lua5.1 -v 2>&1)"
