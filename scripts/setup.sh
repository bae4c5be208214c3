#!/usr/bin/env bash
# Installs and starts what Branchbox needs on a Debian machine, idempotently:
# a Docker engine (Debian's docker.io) when none answers, the offline base images
# (no registry is needed: they are imported from the host's own files), and npm dependencies.
# Usage: bash scripts/setup.sh [--no-npm]
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
apt_updated=0
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then log "need root to install: ${missing[*]}"; exit 1; fi
  [ $apt_updated = 1 ] || { apt-get update -qq; apt_updated=1; }
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Docker engine --------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  if [ -S /var/run/docker.sock ] && docker info >/dev/null 2>&1; then :; else
    log "starting dockerd (log: /var/log/branchbox-dockerd.log)"
    (setsid nohup dockerd >/var/log/branchbox-dockerd.log 2>&1 &)
    for _ in $(seq 1 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { log "dockerd did not come up; see /var/log/branchbox-dockerd.log"; tail -20 /var/log/branchbox-dockerd.log >&2; exit 1; }
  fi
fi
log "docker engine $(docker version --format '{{.Server.Version}}')"

# --- Offline base images ------------------------------------------------------------
apt_install busybox-static
# The deploy pipeline runs git and tar on the host.
command -v git >/dev/null 2>&1 || apt_install git
command -v tar >/dev/null 2>&1 || apt_install tar
# The standard-library client example (docs/examples) runs in the tests.
command -v python3 >/dev/null 2>&1 || apt_install python3

# Imports a root filesystem folder as an image unless one with the same content id exists.
import_rootfs() { # name dir fingerprint [docker import -c ...]
  local name=$1 dir=$2 fingerprint=$3; shift 3
  if [ "$(docker image inspect -f '{{index .Config.Labels "branchbox.base.fingerprint"}}' "$name" 2>/dev/null)" = "$fingerprint" ]; then
    return 0
  fi
  log "importing base image $name"
  tar -C "$dir" -c . | docker import -c "LABEL branchbox.base=true" -c "LABEL branchbox.base.fingerprint=$fingerprint" "$@" - "$name" >/dev/null
}

busybox_tree() { # dir: busybox and its applets in /bin
  mkdir -p "$1/bin" "$1/tmp" "$1/etc"
  cp "$(command -v busybox)" "$1/bin/busybox"
  for applet in $(busybox --list); do [ -e "$1/bin/$applet" ] || ln -s busybox "$1/bin/$applet"; done
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n' >"$1/etc/group"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

busybox_fp=$(sha256sum "$(command -v busybox)" | cut -c1-16)
busybox_tree "$work/busybox"
import_rootfs branchbox/busybox:1 "$work/busybox" "$busybox_fp" -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]'

node_bin=$(readlink -f "$(command -v node)")
node_fp=$(cat "$node_bin" "$(command -v busybox)" | sha256sum | cut -c1-16)
busybox_tree "$work/node"
mkdir -p "$work/node/usr/bin" "$work/node/home/app"
cp "$node_bin" "$work/node/usr/bin/node"
for lib in $(ldd "$node_bin" | grep -oE '/[^ ]+'); do
  mkdir -p "$work/node$(dirname "$lib")"; cp -L "$lib" "$work/node$lib"
done
import_rootfs branchbox/node:20 "$work/node" "$node_fp" -c 'ENV PATH=/usr/bin:/bin' -c 'CMD ["node"]'

# --- npm dependencies ----------------------------------------------------------------
if [ "${1:-}" != "--no-npm" ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm dependencies"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
log "ready"
