#!/usr/bin/env bash
# Make sure the openssl command is installed: the README walkthrough's test
# (test/e2e/walkthrough.integration.test.ts) makes a certificate for the
# example fleet's hosts, so `aviary verify` checks them over real TLS.
# Idempotent.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

if command -v openssl >/dev/null 2>&1; then
  echo "ensure-openssl: $(openssl version) already installed, nothing to do"
  exit 0
fi
apt_install ensure-openssl openssl
echo "ensure-openssl: installed $(openssl version)"
