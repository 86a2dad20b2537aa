#!/usr/bin/env bash
# Installs the Debian tools the integration tests use besides Docker: the registry the private-registry
# tests start on 127.0.0.1 (docker-registry), htpasswd to make its password file (apache2-utils).
set -euo pipefail
missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
[ ${#missing[@]} -eq 0 ] && exit 0
[ "$(id -u)" -eq 0 ] || { echo "setup-test-tools: need root to install ${missing[*]}" >&2; exit 1; }
echo "setup-test-tools: installing ${missing[*]} (apt-get)..." >&2
bash "$(dirname "$0")/apt-install-quiet.sh" "${missing[@]}"
