#!/usr/bin/env bash
# Lists and removes the Docker objects one test run left behind; exits 1 when there were any.
# Tests label what they create `branchbox.test=<prefix>-<suite><8 hex digits>`
# (test/helpers/docker-fixtures.ts): containers, networks, volumes and images, those the
# daemons under test made or built included. Only objects of the given suite are looked at:
# the engine may be shared with another run or another user.
# Usage: bash scripts/test-leftovers.sh SUITE
set -euo pipefail
suite=${1:?usage: test-leftovers.sh SUITE}

of_kind() { # kind: "id run-label name" of this suite's objects of that kind
  case $1 in
    container) docker ps -a --filter label=branchbox.test --format '{{.ID}} {{.Label "branchbox.test"}} {{.Names}}' ;;
    network) docker network ls --filter label=branchbox.test --format '{{.ID}} {{.Label "branchbox.test"}} {{.Name}}' ;;
    volume) docker volume ls --filter label=branchbox.test --format '{{.Name}} {{.Label "branchbox.test"}} {{.Name}}' ;;
    image) docker images -aq --filter label=branchbox.test | sort -u | while read -r id; do
      # range, not join: an untagged image's empty RepoTags breaks join. An image removed since
      # the listing is no leftover; any other failure to inspect fails the check.
      if ! out=$(docker image inspect -f '{{.Id}} {{index .Config.Labels "branchbox.test"}} {{range $i, $t := .RepoTags}}{{if $i}},{{end}}{{$t}}{{end}}' "$id" 2>&1); then
        case $out in *"No such image"*) continue ;; *) echo "test-leftovers: docker image inspect $id: $out" >&2; exit 1 ;; esac
      fi
      echo "$out"
    done ;;
  esac | awk -v run="-$suite" 'substr($2, length($2) - 14, 7) == run && $2 ~ /[0-9a-f]$/'
}

status=0
for kind in container network volume image; do
  found=$(of_kind $kind)
  [ -z "$found" ] && continue
  echo "Tests left Docker objects behind ($kind):" >&2
  echo "$found" | sed 's/^/  /' >&2
  ids=$(echo "$found" | awk '{print $1}' | sort -u)
  case $kind in
    container) docker rm -f $ids >/dev/null ;;
    network) docker network rm $ids >/dev/null ;;
    volume) docker volume rm -f $ids >/dev/null ;;
    image) docker rmi -f $ids >/dev/null || true ;; # a parent may go with its child
  esac
  status=1
done
exit $status
