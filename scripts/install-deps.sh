#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or stale.
#
# node_modules/.gantry-installed records what the last install was made from: a hash of package-lock.json,
# the Node.js version and the platform (native modules such as better-sqlite3 are compiled for one Node
# ABI). The same lock file installs nothing again, whatever the files' dates say (a fresh checkout or a
# rebase makes package-lock.json look newer than node_modules).
#
# A fresh checkout (CI clones the repository anew for every run) would compile the native modules again
# each time. So after `npm ci` a copy of the tree is kept under ~/.cache/gantry (NPM_DEPS_CACHE), named
# by that same key, and a later checkout with the same key copies it instead of installing. Only the
# newest key is kept. NPM_DEPS_CACHE=off disables the cache; a new machine simply runs `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.gantry-installed
key="$(sha256sum package-lock.json | cut -d' ' -f1)-node$(node --version | tr -d v)-$(uname -s)-$(uname -m)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$key" ]; then exit 0; fi

cache_root=${NPM_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gantry/node_modules}
cached="$cache_root/$key"
if [ "$cache_root" != off ] && [ -f "$cached/.gantry-installed" ] && [ "$(cat "$cached/.gantry-installed")" = "$key" ]; then
  rm -rf node_modules
  tmp=$(mktemp -d node_modules.XXXXXX)
  if cp -a "$cached/." "$tmp/" && mv -T "$tmp" node_modules; then
    echo "install-deps: node_modules copied from $cached (same package-lock.json, Node.js and platform)" >&2
    exit 0
  fi
  rm -rf "$tmp" node_modules
fi

npm ci --no-audit --no-fund
echo "$key" >"$stamp"

if [ "$cache_root" != off ] && mkdir -p "$cache_root" 2>/dev/null; then
  # Written beside the final name and renamed into place, so a reader never sees half a copy.
  tmp=$(mktemp -d "$cache_root/.incoming.XXXXXX")
  if cp -a node_modules/. "$tmp/" && mv -T "$tmp" "$cached" 2>/dev/null; then
    # Older keys go; so do copies that a killed run left half made.
    find "$cache_root" -mindepth 1 -maxdepth 1 ! -name "$key" \( ! -name '.incoming.*' -o -mmin +60 \) \
      -exec rm -rf {} + 2>/dev/null || true
  fi
  rm -rf "$tmp"
fi
