#!/usr/bin/env bash
# Make sure the local servers Aviary's integration tests start are installed:
# MariaDB (from Debian) and moto_server (from pip, which is not reachable here).
# Idempotent: installs nothing when everything is already there.
set -euo pipefail
source "$(dirname "$0")/apt-install.sh"

have_mariadbd() {
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ]
}

if have_mariadbd; then
  echo "ensure-mariadb: mariadbd already installed ($(command -v mariadbd || echo /usr/sbin/mariadbd)), nothing to do"
else
  apt_install ensure-mariadb mariadb-server mariadb-client
  if ! have_mariadbd; then
    echo "ensure-mariadb: apt-get succeeded but mariadbd is still not found" >&2
    exit 1
  fi
  echo "ensure-mariadb: installed $(/usr/sbin/mariadbd --version 2>/dev/null || mariadbd --version)"
fi

# moto_server comes from Python's registry, which this machine cannot reach.
if command -v moto_server >/dev/null 2>&1; then
  echo "ensure-mariadb: moto_server found ($(command -v moto_server))"
else
  echo "ensure-mariadb: moto_server is missing; install it with: pip install 'moto[server]' (it cannot be installed from here)" >&2
  exit 1
fi
