#!/bin/sh
# Entrypoint of branchbox/postgres:15 (scripts/setup.sh), read like the official image's:
# on first start, initdb into $PGDATA (default /var/lib/postgresql/data, the volume mount
# point) as POSTGRES_USER (default postgres) with POSTGRES_PASSWORD (password auth,
# scram-sha-256, when set; trust otherwise), creates POSTGRES_DB (default: the user's name),
# then runs postgres listening on every interface, port 5432. Any other command (psql,
# pg_isready, sh) runs as given. Runs as the image's postgres user with no capabilities: the
# data directory must belong to it (a new named volume does: it copies the image's folder).
set -eu
[ $# -eq 0 ] && set -- postgres
[ "${1#-}" != "$1" ] && set -- postgres "$@"
[ "$1" = postgres ] || exec "$@"
shift

PGDATA=${PGDATA:-/var/lib/postgresql/data}
export PGDATA
user=${POSTGRES_USER:-postgres}
db=${POSTGRES_DB:-$user}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA" 2>/dev/null || true
  if [ ! -w "$PGDATA" ]; then
    echo "postgres: $PGDATA is not writable by $(id -un) (uid $(id -u)); a new named volume is, a bind mount must belong to uid $(id -u)" >&2
    exit 1
  fi
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    auth=scram-sha-256
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    initdb --username="$user" --pwfile="$pwfile" --auth="$auth" --encoding=UTF8 --no-locale --no-instructions -D "$PGDATA"
    rm -f "$pwfile"
  else
    auth=trust
    echo "postgres: POSTGRES_PASSWORD is not set: every connection is trusted" >&2
    initdb --username="$user" --auth="$auth" --encoding=UTF8 --no-locale --no-instructions -D "$PGDATA"
  fi
  printf 'host all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
  if [ "$db" != postgres ]; then
    quoted=$(printf '%s' "$db" | sed 's/"/""/g')
    printf 'CREATE DATABASE "%s";\n' "$quoted" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  echo "postgres: initialized $PGDATA (user $user, database $db, $auth)"
fi
exec postgres "$@"
