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
# Keep maintainer scripts from starting the packaged registry service on :5000; tests start their own.
policy=/usr/sbin/policy-rc.d
added_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  added_policy=1
fi
status=0
log=$(mktemp)
{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1 || status=$?
[ -n "$added_policy" ] && rm -f "$policy"
if [ "$status" -ne 0 ]; then cat "$log" >&2; rm -f "$log"; exit 1; fi
rm -f "$log"
