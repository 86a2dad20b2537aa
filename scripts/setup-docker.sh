#!/usr/bin/env bash
# Makes sure a Docker Engine answers on /var/run/docker.sock, installing and starting one if needed.
#
# Idempotent and silent when the engine is already up. On a fresh Debian 12 (run as root) it installs
# Debian's docker.io and starts dockerd without the default bridge and without iptables rules: Gantry's
# containers only use network mode "none" or "host", and we must not rewrite the host's firewall.
set -euo pipefail

SOCKET=/var/run/docker.sock
DOCKERD_LOG=/var/log/gantry-dockerd.log
WAIT_SECONDS=30

log() { echo "setup-docker: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

engine_up() { command -v docker >/dev/null 2>&1 && timeout 10 docker -H "unix://$SOCKET" info >/dev/null 2>&1; }

# Fast path: nothing to do.
if engine_up; then exit 0; fi

[ "$(id -u)" -eq 0 ] || die "the Docker engine is not running and starting it needs root (run: sudo $0)"

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  log "installing docker.io (apt-get)..."
  bash "$(dirname "$0")/apt-install-quiet.sh" docker.io || die "apt-get could not install docker.io"
  command -v dockerd >/dev/null 2>&1 || die "docker.io is installed but dockerd is not on PATH"
fi

# The pid in dockerd's pid file, if that process is alive.
dockerd_pid() {
  local pid
  pid=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then echo "$pid"; fi
}

# A dockerd that is still starting up holds its pid file; starting a second one would fail on that lock.
running_pid=$(dockerd_pid)

if [ -z "$running_pid" ]; then
  log "starting dockerd (log: $DOCKERD_LOG)..."
  # setsid + nohup: the daemon must outlive this script and the shell or CI job that ran it.
  setsid nohup dockerd --host "unix://$SOCKET" --bridge=none --iptables=false </dev/null >>"$DOCKERD_LOG" 2>&1 &
  started_pid=$!
else
  log "dockerd (pid $running_pid) is running but not answering yet; waiting..."
  started_pid=$running_pid
fi

for _ in $(seq 1 $((WAIT_SECONDS * 2))); do
  if engine_up; then
    log "Docker engine is up"
    exit 0
  fi
  # ($! may be a short-lived setsid wrapper, hence the pid-file check too.)
  if ! kill -0 "$started_pid" 2>/dev/null && [ -z "$(dockerd_pid)" ]; then
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    die "dockerd exited during startup (see $DOCKERD_LOG)"
  fi
  sleep 0.5
done
tail -n 30 "$DOCKERD_LOG" >&2 || true
die "the Docker engine did not answer on $SOCKET within ${WAIT_SECONDS}s (see $DOCKERD_LOG)"
