#!/usr/bin/env bash
# Installs Debian packages quietly (output shown only on failure) without letting their maintainer
# scripts start services: Gantry starts the daemons it needs itself, configured its own way (a dockerd
# without bridge or iptables, test registries on loopback). The policy file is added only when there is
# none, and only for the duration of the install.
#   usage: apt-install-quiet.sh PACKAGE...
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: $0 PACKAGE..." >&2; exit 2; }
policy=/usr/sbin/policy-rc.d
added_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  added_policy=1
fi
status=0
log=$(mktemp)
{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; } >"$log" 2>&1 || status=$?
[ -n "$added_policy" ] && rm -f "$policy"
[ "$status" -eq 0 ] || cat "$log" >&2
rm -f "$log"
exit "$status"
