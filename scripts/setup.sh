#!/usr/bin/env bash
# Installs and starts what Branchbox needs on a Debian machine, idempotently:
# a Docker engine (Debian's docker.io) when none answers, the offline base images
# (no registry is needed: they are imported from the host's own files), and npm dependencies;
# with --test, what only the tests use too (Debian's docker-compose, the reference the compose
# tests compare Branchbox with).
# Usage: bash scripts/setup.sh [--no-npm] [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
npm_deps=1 test_tools=0
for arg in "$@"; do
  case $arg in
    --no-npm) npm_deps=0 ;;
    --test) test_tools=1 ;;
    *) printf 'usage: bash scripts/setup.sh [--no-npm] [--test]\n' >&2; exit 2 ;;
  esac
done

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

# Whether the image exists with this fingerprint: checked before any work, so setup stays fast.
image_current() { # name fingerprint
  [ "$(docker image inspect -f '{{index .Config.Labels "branchbox.base.fingerprint"}}' "$1" 2>/dev/null)" = "$2" ]
}

# Imports a root filesystem folder as an image labelled with its fingerprint.
import_rootfs() { # name dir fingerprint [docker import -c ...]
  local name=$1 dir=$2 fingerprint=$3; shift 3
  log "importing base image $name"
  tar -C "$dir" -c . | docker import -c "LABEL branchbox.base=true" -c "LABEL branchbox.base.fingerprint=$fingerprint" "$@" - "$name" >/dev/null
}

fingerprint() { # files...: the first 16 hex digits of their content's sha256
  cat "$@" | sha256sum | cut -c1-16
}

busybox_tree() { # dir: busybox and its applets in /bin
  mkdir -p "$1/bin" "$1/tmp" "$1/etc"
  cp "$(command -v busybox)" "$1/bin/busybox"
  for applet in $(busybox --list); do [ -e "$1/bin/$applet" ] || ln -s busybox "$1/bin/$applet"; done
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\n' >"$1/etc/group"
}

with_libraries() { # dir files...: copies the files, and the shared libraries they load (ldd), into dir
  local dir=$1 file; shift
  for file in "$@"; do mkdir -p "$dir$(dirname "$file")"; cp -L "$file" "$dir$file"; done
  libraries_of "$dir" "$@"
}

libraries_of() { # dir files...: copies the shared libraries the files load (ldd) into dir
  local dir=$1 file lib; shift
  for file in "$@"; do
    for lib in $(ldd "$file" 2>/dev/null | grep -oE '/[^ ]+' || true); do
      [ -e "$dir$lib" ] && continue
      mkdir -p "$dir$(dirname "$lib")"; cp -L "$lib" "$dir$lib"
    done
  done
}

service_user() { # dir name uid home: a system user and group of that name, owning its home
  printf '%s:x:%s:%s:%s:%s:/bin/sh\n' "$2" "$3" "$3" "$2" "$4" >>"$1/etc/passwd"
  printf '%s:x:%s:\n' "$2" "$3" >>"$1/etc/group"
  mkdir -p "$1$4"; chown "$3:$3" "$1$4"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
busybox_bin=$(command -v busybox)

busybox_fp=$(fingerprint "$busybox_bin")
if ! image_current branchbox/busybox:1 "$busybox_fp"; then
  busybox_tree "$work/busybox"
  import_rootfs branchbox/busybox:1 "$work/busybox" "$busybox_fp" -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]'
fi

node_bin=$(readlink -f "$(command -v node)")
node_fp=$(fingerprint "$node_bin" "$busybox_bin")
if ! image_current branchbox/node:20 "$node_fp"; then
  busybox_tree "$work/node"
  mkdir -p "$work/node/usr/bin" "$work/node/home/app"
  cp "$node_bin" "$work/node/usr/bin/node"
  libraries_of "$work/node" "$node_bin"
  import_rootfs branchbox/node:20 "$work/node" "$node_fp" -c 'ENV PATH=/usr/bin:/bin' -c 'CMD ["node"]'
fi

# A cache and a database for compose projects (examples/compose-shop), from Debian's
# packages: the binaries, their libraries, a non-root user, and an entrypoint (scripts/images/).
apt_install redis-server
redis_fp=$(fingerprint /usr/bin/redis-server /usr/bin/redis-cli "$busybox_bin" scripts/images/redis-entrypoint.sh)
if ! image_current branchbox/redis:7 "$redis_fp"; then
  busybox_tree "$work/redis"
  with_libraries "$work/redis" /usr/bin/redis-server /usr/bin/redis-cli
  install -D -m 0755 scripts/images/redis-entrypoint.sh "$work/redis/usr/local/bin/redis-entrypoint.sh"
  service_user "$work/redis" redis 999 /data
  import_rootfs branchbox/redis:7 "$work/redis" "$redis_fp" -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    -c 'USER redis' -c 'WORKDIR /data' -c 'EXPOSE 6379' \
    -c 'ENTRYPOINT ["/usr/local/bin/redis-entrypoint.sh"]' -c 'CMD ["redis-server"]'
fi

apt_install postgresql-15
pg_bin=/usr/lib/postgresql/15/bin
pg_lib=/usr/lib/postgresql/15/lib
pg_tools="$pg_bin/postgres $pg_bin/initdb $pg_bin/pg_ctl $pg_bin/pg_isready $pg_bin/psql"
# shellcheck disable=SC2086 # the list is the arguments
postgres_fp=$(fingerprint $pg_tools "$busybox_bin" scripts/images/postgres-entrypoint.sh)
if ! image_current branchbox/postgres:15 "$postgres_fp"; then
  busybox_tree "$work/postgres"
  # The server's modules (plpgsql, the text search dictionaries…) without the LLVM JIT: postgres
  # runs without it when it is missing.
  # shellcheck disable=SC2086
  with_libraries "$work/postgres" $pg_tools $(find "$pg_lib" -maxdepth 1 -name '*.so' ! -name 'llvmjit*')
  mkdir -p "$work/postgres/usr/share/postgresql" "$work/postgres/usr/share/zoneinfo"
  cp -a /usr/share/postgresql/15 "$work/postgres/usr/share/postgresql/15"
  rm -rf "$work/postgres/usr/share/postgresql/15/man"
  cp -a /usr/share/zoneinfo/. "$work/postgres/usr/share/zoneinfo/"
  install -D -m 0755 scripts/images/postgres-entrypoint.sh "$work/postgres/usr/local/bin/postgres-entrypoint.sh"
  service_user "$work/postgres" postgres 999 /var/lib/postgresql
  # A new named volume on data/ copies this folder's owner and mode: the server's own, 0700.
  install -d -o 999 -g 999 -m 0700 "$work/postgres/var/lib/postgresql/data"
  install -d -o 999 -g 999 -m 0775 "$work/postgres/var/run/postgresql"
  import_rootfs branchbox/postgres:15 "$work/postgres" "$postgres_fp" \
    -c "ENV PATH=/usr/local/bin:$pg_bin:/usr/bin:/bin" -c 'ENV PGDATA=/var/lib/postgresql/data' -c 'ENV TZ=UTC' \
    -c 'USER postgres' -c 'EXPOSE 5432' \
    -c 'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]' -c 'CMD ["postgres"]'
  # docker import has no STOPSIGNAL: SIGINT is postgres's fast shutdown (SIGTERM waits for every
  # client to leave), as in the official image. The engine's builder, offline, adds it.
  built=$(printf 'FROM branchbox/postgres:15\nSTOPSIGNAL SIGINT\n' | docker build -q -t branchbox/postgres:15 - 2>&1) ||
    { printf '%s\n' "$built" >&2; exit 1; }
fi

# --- Test tools ------------------------------------------------------------------------
[ $test_tools = 0 ] || apt_install docker-compose

# --- npm dependencies ----------------------------------------------------------------
if [ $npm_deps = 1 ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm dependencies"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
log "ready"
