#!/usr/bin/env bash
# Installs the Debian prometheus package when no prometheus binary is on PATH.
# The e2e data plane (e2e/prom) runs that binary directly; no service is started.
# Idempotent and silent when prometheus is already installed.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-prometheus: not root and sudo is missing; install the Debian 'prometheus' package by hand" >&2
    exit 1
  fi
  SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
install() {
  $SUDO apt-get install -y -q --no-install-recommends prometheus >/dev/null
}

echo "install-prometheus: installing the Debian prometheus package" >&2
if ! install 2>/dev/null; then
  $SUDO apt-get update -q >/dev/null
  install
fi

# The package's postinst may start a service where an init system runs; the data plane does not use it.
if ! command -v prometheus >/dev/null 2>&1; then
  echo "install-prometheus: prometheus is still not on PATH after the install" >&2
  exit 1
fi
echo "install-prometheus: $(prometheus --version 2>&1 | head -n1)" >&2
