#!/usr/bin/env bash
# Builds the local images the integration tests use. No registry is reachable, so images are made from
# files on this machine and imported with `docker import`.
#
#   gantry-test/busybox:latest (also :1.0): Debian's static busybox with a symlink per applet, users root,
#   notRoot (1000) and builder (1001), /tmp (1777), /root, /home/notRoot, /home/builder.
#
# Usage: scripts/build-test-images.sh [--force]   (without --force, existing images are kept)
set -euo pipefail

FORCE=
for arg in "$@"; do
  case "$arg" in
    --force) FORCE=1 ;;
    -h | --help)
      sed -n '2,9p' "$0"
      exit 0
      ;;
    *)
      echo "build-test-images: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

log() { echo "build-test-images: $*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

command -v docker >/dev/null 2>&1 || die "docker CLI not found (run scripts/setup-docker.sh first)"
docker info >/dev/null 2>&1 || die "the Docker engine does not answer (run scripts/setup-docker.sh first)"

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Prints the path of a statically linked busybox, installing Debian's busybox-static if needed.
static_busybox() {
  local bb=/bin/busybox
  if [ ! -x "$bb" ]; then
    [ "$(id -u)" -eq 0 ] || die "/bin/busybox is missing and installing busybox-static needs root"
    log "installing busybox-static (apt-get)..."
    {
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static
    } >"$WORK/apt.log" 2>&1 || {
      cat "$WORK/apt.log" >&2
      die "apt-get could not install busybox-static"
    }
  fi
  # ldd succeeds only on dynamic executables. A dynamic busybox (Debian's "busybox" package) would not run
  # in an image without libc, and installing busybox-static would replace it on the host: unpack the
  # static one into the work dir instead.
  if ldd "$bb" >/dev/null 2>&1; then
    log "/bin/busybox is dynamically linked; unpacking busybox-static without installing it..."
    (cd "$WORK" && apt-get download busybox-static >"$WORK/apt.log" 2>&1) || {
      cat "$WORK/apt.log" >&2
      die "apt-get could not download busybox-static"
    }
    dpkg-deb -x "$WORK"/busybox-static_*.deb "$WORK/bb-deb"
    bb=$(find "$WORK/bb-deb" -name busybox -type f | head -n 1)
    [ -n "$bb" ] || die "no busybox binary in the busybox-static package"
  fi
  echo "$bb"
}

build_busybox() {
  local ref=gantry-test/busybox:latest
  if [ -z "$FORCE" ] && image_exists "$ref" && image_exists gantry-test/busybox:1.0; then
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "building $ref needs root (files are owned by uid 1000 and 1001)"

  local bb root applet
  bb=$(static_busybox)
  root="$WORK/busybox-root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,var/tmp,home/notRoot,home/builder,dev,proc,sys}
  cp "$bb" "$root/bin/busybox"
  chmod 755 "$root/bin/busybox"
  # --list-full gives each applet's usual directory (bin/sh, usr/bin/env...), so shebangs like
  # #!/usr/bin/env work; fall back to putting everything in /bin.
  if "$root/bin/busybox" --list-full >"$WORK/applets" 2>/dev/null && [ -s "$WORK/applets" ]; then
    while IFS= read -r applet; do
      [ "$applet" = bin/busybox ] && continue
      mkdir -p "$root/$(dirname "$applet")"
      ln -sf /bin/busybox "$root/$applet"
    done <"$WORK/applets"
  else
    "$root/bin/busybox" --list | while IFS= read -r applet; do
      [ "$applet" = busybox ] || ln -sf /bin/busybox "$root/bin/$applet"
    done
  fi

  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
notRoot:x:1000:1000:notRoot:/home/notRoot:/bin/sh
builder:x:1001:1001:builder:/home/builder:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
notRoot:x:1000:
builder:x:1001:
nogroup:x:65534:
EOF
  chmod 1777 "$root/tmp" "$root/var/tmp"
  chmod 700 "$root/root"
  chown 1000:1000 "$root/home/notRoot"
  chown 1001:1001 "$root/home/builder"

  tar --numeric-owner -C "$root" -c . |
    docker import -c 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' - "$ref" >/dev/null
  docker tag "$ref" gantry-test/busybox:1.0
  echo "built $ref and gantry-test/busybox:1.0 ($(docker image inspect --format '{{.Id}}' "$ref"))"
}

build_busybox
