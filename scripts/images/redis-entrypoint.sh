#!/bin/sh
# Entrypoint of branchbox/redis:7 (scripts/setup.sh), read like the official image's: redis-server
# (with or without a config file first) runs with protected mode off — inside a sandbox
# network, other services reach it without a password; it listens on every interface, port
# 6379, and keeps its data in /data (the working directory). Any other command runs as given.
set -eu
[ $# -eq 0 ] && set -- redis-server
[ "${1#-}" != "$1" ] && set -- redis-server "$@"
[ "$1" = redis-server ] || exec "$@"
shift
if [ $# -gt 0 ] && [ -f "$1" ]; then
  conf=$1
  shift
  set -- "$conf" --protected-mode no "$@"
else
  set -- --protected-mode no "$@"
fi
exec redis-server "$@"
