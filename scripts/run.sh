#!/usr/bin/env bash
# The main job: installs what is needed, starts branchboxd with its embedded defaults (state in
# ~/.local/state/branchbox, protocol on ws://127.0.0.1:47815), makes the sample project
# (examples/shop) a git repository with a feature branch, deploys that branch into the sandbox
# "demo", and prints where to reach it. Run it again to redeploy (unchanged commits are not
# rebuilt). Pass --state-dir DIR to use another state directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

bash scripts/setup.sh
npm run --silent build

cli() { node "$root/dist/branchbox.js" "$@"; }
json() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(eval(process.argv[1]))})' "$1"; }

cli "$@" daemon start >/dev/null
state=$(cli "$@" info -o json | json 'v.stateDir')

# The sample project as a git repository: main, and feature/x where account answers version 2.
repo="$state/demo/shop"
if [ ! -d "$repo/.git" ]; then
  mkdir -p "$repo"
  cp -r examples/shop/. "$repo/"
  g() { git -C "$repo" -c user.name=Branchbox -c user.email=demo@branchbox.invalid -c commit.gpgsign=false "$@"; }
  g init --quiet --initial-branch=main
  g add --all && g commit --quiet -m "shop: account and payment services"
  g checkout --quiet -b feature/x
  sed -i 's/account service, version 1/account service, version 2 (feature\/x)/' "$repo/services/account/server.js"
  g commit --quiet -am "account: version 2"
fi
git -C "$repo" checkout --quiet feature/x

cli "$@" sandbox get demo >/dev/null 2>&1 || cli "$@" sandbox create demo --repo "$repo" >/dev/null
(cd "$repo" && cli "$@" deploy --sandbox demo)

gateway=$(cli "$@" route ls demo -o json | json 'v.gateway?.url ?? ""')
echo
echo "Sandbox \"demo\" runs the branch feature/x of $repo"
echo "Gateway: $gateway"
for path in /account /payment; do
  answer=$(node -e 'fetch(process.argv[1]).then(r=>r.text()).then(t=>process.stdout.write(t.trim()),e=>process.stdout.write(String(e)))' "$gateway$path")
  echo "  GET $gateway$path -> $answer"
done
echo
echo "More: node dist/branchbox.js sandbox get demo | route ls demo | logs -f --sandbox demo account"
echo "Stop: node dist/branchbox.js sandbox delete demo && node dist/branchbox.js daemon stop"
