#!/usr/bin/env bash
# The bounded schemathesis pass: does the API do what its OpenAPI schema (/api/schema/) says?
#
# Builds a small demo county (--scale 0.02) in a temporary SQLite database, serves it on a free port, signs in the
# county admin and a community secretary, and runs schemathesis with every check (the relaxations are in
# scripts/schemathesis.toml, each justified in docs/DECISIONS.md) — a fixed seed, at most 10 examples per operation,
# and a time budget per persona. Exits non-zero on any failure. Needs nothing but the virtualenv. One worker: with
# two threads Python 3.11's ast module, which hypothesis calls, raised "recursion depth mismatch" now and then.
#
#   scripts/schemathesis.sh                  # both personas, ~5 minutes on 2 cores
#   ST_BUDGET=60 scripts/schemathesis.sh     # at most 60 s of testing per persona (default: no budget, same cases every run)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/.venv/bin"
budget=${ST_BUDGET:-}        # seconds of testing per persona; empty: no time budget, so the cases are the same on a
                              # busy and an idle machine (a time budget made an idle CI run try cases no local run had)
examples=${ST_EXAMPLES:-10}
limit=${ST_LIMIT:-900}       # hard stop per persona (a hang fails the pass)
time_args=()
[ -n "$budget" ] && time_args=(--max-time "$budget")
seed=${ST_SEED:-2010}

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/var"
export XIANFENG_VAR="$work/var" DJANGO_SETTINGS_MODULE=xianfeng.settings
unset DATABASE_URL  # always the temporary SQLite database, never the caller's
started=$(date +%s)
# python -m: this checkout's code whatever the virtualenv's editable install points at
"$bin/python" -m xianfeng.cli migrate --no-input -v0
"$bin/python" -m xianfeng.cli demo --scale 0.02 --seed "$seed" >"$work/demo.log" 2>&1 || { cat "$work/demo.log"; exit 1; }
echo "schemathesis: county built in $(( $(date +%s) - started )) s"

port=$("$bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
"$bin/python" -m granian --interface wsgi --host 127.0.0.1 --port "$port" --workers 1 --blocking-threads 4 --no-ws \
  --log-level warning xianfeng.wsgi:application >"$work/server.log" 2>&1 &
server=$!
"$bin/python" - "$base" <<'EOF'
import sys, time, urllib.request
for _ in range(60):
    try:
        urllib.request.urlopen(f"{sys.argv[1]}/healthz", timeout=5)
        break
    except OSError:
        time.sleep(1)
else:
    sys.exit("schemathesis: the server did not start")
EOF

token() {  # the demo logins' password is demo12345
  "$bin/python" - "$base" "$1" <<'EOF'
import json, sys, urllib.request
request = urllib.request.Request(f"{sys.argv[1]}/api/v1/auth/token/", method="POST",
                                 data=json.dumps({"username": sys.argv[2], "password": "demo12345"}).encode(),
                                 headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(request, timeout=30))["token"])
EOF
}

# Both tokens before any run: a run also exercises POST /api/v1/auth/token/ and leaves it throttled (429) for a while
declare -A tokens
for persona in county_admin hebin_secretary; do tokens[$persona]=$(token "$persona"); done

status=0
for persona in county_admin hebin_secretary; do
  echo "schemathesis: as $persona, ${examples} examples per operation${budget:+, ${budget} s budget}"
  # run from the temporary folder: schemathesis and hypothesis leave caches (.schemathesis/, .hypothesis/) in it
  (cd "$work" && XF_API_TOKEN=${tokens[$persona]} timeout --kill-after=10 "$limit" \
    "$bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$base/api/schema/" \
      --checks all --seed "$seed" --max-examples "$examples" "${time_args[@]}" --workers 1 \
      --generation-database none --no-color --wait-for-schema 30) || status=1
done
if [ "$status" -ne 0 ]; then
  echo "schemathesis: FAILED (server log: last lines below)"
  tail -n 20 "$work/server.log"
fi
echo "schemathesis: done in $(( $(date +%s) - started )) s"
exit "$status"
