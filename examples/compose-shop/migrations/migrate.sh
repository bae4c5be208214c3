#!/bin/sh
# Applies every SQL file here in name order (each is safe to run again), then exits: the
# one-shot job the api waits for. psql connects with the PG* variables of the service.
set -eu
for file in /migrations/*.sql; do
  echo "migrate: $(basename "$file")"
  psql -v ON_ERROR_STOP=1 -q -f "$file"
done
echo "migrate: done"
